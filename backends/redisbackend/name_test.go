package redisbackend_test

import (
	"crypto/tls"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/actorpool/actorpool/backends/redisbackend"
)

func ExampleBackend_Name() {
	b := redisbackend.NewFromURL("redis://app:s3cret@cache.internal:6379/2?client_name=checkout")
	fmt.Println(b.Name())
	// Output:
	// redis://cache.internal:6379/2
}

func TestNameNamesServerAndDatabaseWithoutCredentials(t *testing.T) {
	for _, tc := range []struct {
		opt  redisbackend.Options
		want string
	}{
		{redisbackend.Options{Addr: "127.0.0.1:6379"}, "redis://127.0.0.1:6379/0"},
		{redisbackend.Options{Addr: "10.0.0.1:6380", DB: 3, Username: "u", Password: "p4ss"}, "redis://10.0.0.1:6380/3"},
		{redisbackend.Options{Addr: "h:6379", TLSConfig: &tls.Config{}}, "rediss://h:6379/0"},
		{redisbackend.Options{Network: "unix", Addr: "/run/redis.sock", DB: 1}, "unix:///run/redis.sock?db=1"},
	} {
		got := redisbackend.New(tc.opt).Name()
		assert.Equal(t, tc.want, got)
		assert.NotContains(t, got, "p4ss")
	}
	assert.Equal(t, "redis", redisbackend.NewFromURL("redis://:secret@[bad").Name())
}
