package redisbackend_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/backends/redisbackend"
)

const secret = "s3cr3t-p4ss"

func TestParseURLPassesEveryConnectionSettingThrough(t *testing.T) {
	opt, err := redisbackend.ParseURL("rediss://alice:" + secret + "@cache.internal:6380/3" +
		"?client_name=api&protocol=2&dial_timeout=2s&read_timeout=300ms&write_timeout=400ms&skip_verify=true")
	require.NoError(t, err)

	assert.Equal(t, "tcp", opt.Network)
	assert.Equal(t, "cache.internal:6380", opt.Addr)
	assert.Equal(t, "alice", opt.Username)
	assert.Equal(t, secret, opt.Password)
	assert.Equal(t, 3, opt.DB)
	assert.Equal(t, "api", opt.ClientName)
	assert.Equal(t, 2, opt.Protocol)
	assert.Equal(t, 2*time.Second, opt.DialTimeout)
	assert.Equal(t, 300*time.Millisecond, opt.ReadTimeout)
	assert.Equal(t, 400*time.Millisecond, opt.WriteTimeout)
	require.NotNil(t, opt.TLSConfig)
	assert.Equal(t, "cache.internal", opt.TLSConfig.ServerName)
	assert.True(t, opt.TLSConfig.InsecureSkipVerify)
	assert.NoError(t, opt.Validate())
}

func TestParseURLDefaultsToLocalhostAndDatabaseZero(t *testing.T) {
	opt, err := redisbackend.ParseURL("redis://")
	require.NoError(t, err)
	assert.Equal(t, "localhost:6379", opt.Addr)
	assert.Zero(t, opt.DB)
	assert.Nil(t, opt.TLSConfig)
}

func TestBadURLsAreRejectedWithoutShowingThePassword(t *testing.T) {
	for name, raw := range map[string]string{
		"database is not a number": "redis://:" + secret + "@localhost:6379/zero",
		"bad escape in password":   "redis://user:" + secret + "%zz@localhost:6379/0",
		"bad escape in host":       "redis://user:" + secret + "@local%zzhost:6379/0",
		"unknown scheme":           "http://:" + secret + "@localhost:6379/0",
		"unknown parameter":        "redis://:" + secret + "@localhost:6379/0?colour=blue",
		"pool size of go-redis":    "redis://:" + secret + "@localhost:6379/0?pool_size=50",
		"retries of go-redis":      "redis://:" + secret + "@localhost:6379/0?max_retries=3",
		"control character":        "redis://:" + secret + "@localhost:6379/\x7f",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := redisbackend.ParseURL(raw)
			require.Error(t, err)
			assert.ErrorIs(t, err, redisbackend.ErrInvalidURL)
			assert.NotContains(t, err.Error(), secret)
			assert.NotContains(t, err.Error(), secret[:6], "not even a piece of it")

			b := redisbackend.NewFromURL(raw)
			verr := b.Validate()
			assert.ErrorIs(t, verr, redisbackend.ErrInvalidURL)
			_, derr := b.Dial(context.Background())
			assert.ErrorIs(t, derr, redisbackend.ErrInvalidURL)
			assert.NotContains(t, b.String(), secret)
		})
	}
}

func TestValidateRejectsOptionsThatCannotWork(t *testing.T) {
	for name, opt := range map[string]redisbackend.Options{
		"empty address":          {},
		"unknown network":        {Addr: "x:1", Network: "udp"},
		"negative database":      {Addr: "x:1", DB: -1},
		"space in client name":   {Addr: "x:1", ClientName: "my app"},
		"unknown protocol":       {Addr: "x:1", Protocol: 4},
		"negative dial timeout":  {Addr: "x:1", DialTimeout: -time.Second},
		"read timeout below -2":  {Addr: "x:1", ReadTimeout: -3},
		"write timeout below -2": {Addr: "x:1", WriteTimeout: -3},
	} {
		t.Run(name, func(t *testing.T) {
			b := redisbackend.New(opt)
			assert.ErrorIs(t, b.Validate(), redisbackend.ErrInvalidOptions)
			_, err := b.Dial(context.Background())
			assert.ErrorIs(t, err, redisbackend.ErrInvalidOptions, "Dial refuses them too")
		})
	}
	assert.NoError(t, redisbackend.New(redisbackend.Options{Addr: "x:1", ReadTimeout: -1}).Validate())
}

func TestOptionsNeverPrintThePassword(t *testing.T) {
	opt := redisbackend.Options{Addr: "127.0.0.1:6379", Username: "bob", Password: secret, DB: 2, ClientName: "api"}
	b := redisbackend.New(opt)

	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("pool", "redis", opt, "backend", b)

	for name, s := range map[string]string{
		"String":      opt.String(),
		"%v":          fmt.Sprintf("%v", opt),
		"%+v":         fmt.Sprintf("%+v", opt),
		"%#v":         fmt.Sprintf("%#v", opt),
		"%s pointer":  fmt.Sprintf("%s", &opt),
		"backend":     fmt.Sprint(b),
		"slog output": logged.String(),
	} {
		assert.NotContains(t, s, secret, name)
		assert.Contains(t, s, "127.0.0.1:6379", name)
	}
	assert.Equal(t, "redis://bob:xxxxx@127.0.0.1:6379/2?client_name=api", opt.String())
}
