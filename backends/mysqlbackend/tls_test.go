package mysqlbackend_test

import (
	"context"
	"crypto/x509"
	"testing"

	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
	"github.com/actorpool/actorpool/internal/pooltest"
	"github.com/actorpool/actorpool/internal/testserver/mariadbserver"
)

// The TLS tests run against a server of their own that offers TLS; the
// shared one does not.
var (
	tlsOnce sync.Once
	tlsSrv  *mariadbserver.Server
	tlsErr  error
)

// tlsServer starts the TLS server on first use.
func tlsServer(t *testing.T) *mariadbserver.Server {
	t.Helper()
	tlsOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		tlsSrv, tlsErr = mariadbserver.Start(ctx, mariadbserver.WithTLS())
	})
	require.NoError(t, tlsErr)
	return tlsSrv
}

// stopTLSServer stops the TLS server if a test started it; TestMain calls
// it.
func stopTLSServer() {
	if tlsSrv != nil {
		_ = tlsSrv.Stop()
	}
}

// openTLSPool opens a pool over b on the TLS server s, with newPool's
// checks: after Close, s sees none of its sessions.
func openTLSPool(t *testing.T, s *mariadbserver.Server, b *mysqlbackend.Backend, cfg actorpool.Config) *mysqlPool {
	t.Helper()
	none := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n, err := s.SessionCount(ctx)
		return err == nil && n == 0
	}
	require.Eventually(t, none, eventually, 10*time.Millisecond, "sessions of earlier tests are still open")
	t.Cleanup(func() { s.Admin().SetMaxIdleConns(2) })
	f := pooltest.Open(t, b, cfg,
		pooltest.IgnoreGoroutines(goleak.IgnoreCurrent()),
		pooltest.AfterClose(func(t testing.TB) {
			assert.Eventually(t, none, eventually, 10*time.Millisecond, "the server still sees sessions of a closed pool")
			s.Admin().SetMaxIdleConns(0) // the checks' own sessions
		}))
	return f.Pool
}

// tlsVersion is the TLS version of a session of p, "" without TLS.
func tlsVersion(t *testing.T, p *mysqlPool) string {
	t.Helper()
	var name, version string
	require.NoError(t, p.With(testCtx(t), func(c *mysqlbackend.Conn) error {
		return c.QueryRowContext(testCtx(t), "SHOW SESSION STATUS LIKE 'Ssl_version'").Scan(&name, &version)
	}))
	return version
}

func TestADSNNamingARegisteredTLSConfigConnectsOverTLS(t *testing.T) {
	s := tlsServer(t)
	require.NoError(t, mysql.RegisterTLSConfig("actorpool-test-ca", s.TLSConfig()))
	t.Cleanup(func() { mysql.DeregisterTLSConfig("actorpool-test-ca") })
	b := mysqlbackend.New(mysqlbackend.Options{DSN: s.DSN("tls=actorpool-test-ca")})
	p := openTLSPool(t, s, b, actorpool.Config{MaxConns: 2})
	assert.Regexp(t, `^TLSv1\.[23]$`, tlsVersion(t, p))
}

func TestAConfigWithATLSConfigConnectsOverTLS(t *testing.T) {
	s := tlsServer(t)
	cfg, err := mysql.ParseDSN(s.DSN())
	require.NoError(t, err)
	cfg.TLS = s.TLSConfig()
	b := mysqlbackend.New(mysqlbackend.Options{Config: cfg})
	p := openTLSPool(t, s, b, actorpool.Config{MaxConns: 2})
	assert.Regexp(t, `^TLSv1\.[23]$`, tlsVersion(t, p))
}

func TestWithoutTLSInTheDSNTheSessionIsPlain(t *testing.T) {
	s := tlsServer(t)
	p := openTLSPool(t, s, mysqlbackend.New(mysqlbackend.Options{DSN: s.DSN()}), actorpool.Config{MaxConns: 1})
	assert.Empty(t, tlsVersion(t, p))
}

// dialErr dials once with cfg and returns the error.
func dialErr(t *testing.T, cfg *mysql.Config) error {
	t.Helper()
	b := mysqlbackend.New(mysqlbackend.Options{Config: cfg})
	c, err := b.Dial(testCtx(t))
	if err == nil {
		_ = b.Close(c)
	}
	return err
}

func TestACertificateFromAnUnknownCAIsRefusedWithAnErrorThatSaysSo(t *testing.T) {
	s := tlsServer(t)
	cfg, err := mysql.ParseDSN(s.DSN("tls=true")) // the system's roots: the test CA is not among them
	require.NoError(t, err)
	err = dialErr(t, cfg)
	var unknown x509.UnknownAuthorityError
	require.ErrorAs(t, err, &unknown)
	assert.ErrorIs(t, err, mysqlbackend.ErrTLS)
	assert.Contains(t, err.Error(), "certificate signed by unknown authority")
	assert.NotContains(t, err.Error(), s.Password())

	// Through a pool: the circuit's error carries the cause.
	b := mysqlbackend.New(mysqlbackend.Options{Config: cfg})
	p := openTLSPool(t, s, b, actorpool.Config{MaxConns: 1})
	ctx, cancel := context.WithTimeout(testCtx(t), eventually)
	defer cancel()
	_, err = p.Acquire(ctx)
	t.Log(err)
	assert.ErrorIs(t, err, actorpool.ErrBackendUnavailable)
	assert.ErrorIs(t, err, mysqlbackend.ErrTLS)
	assert.Contains(t, err.Error(), "certificate signed by unknown authority")
}

func TestACertificateForAnotherHostIsRefusedWithAnErrorThatSaysSo(t *testing.T) {
	s := tlsServer(t)
	cfg, err := mysql.ParseDSN(s.DSN())
	require.NoError(t, err)
	cfg.TLS = s.TLSConfig()
	cfg.TLS.ServerName = "db.example.com"
	err = dialErr(t, cfg)
	var host x509.HostnameError
	require.ErrorAs(t, err, &host)
	assert.ErrorIs(t, err, mysqlbackend.ErrTLS)
	assert.Contains(t, err.Error(), "not db.example.com")
	t.Log(err)
}

func TestASkipVerifyDSNEncryptsWithoutCheckingTheCertificate(t *testing.T) {
	s := tlsServer(t)
	p := openTLSPool(t, s, mysqlbackend.New(mysqlbackend.Options{DSN: s.DSN("tls=skip-verify")}), actorpool.Config{MaxConns: 1})
	assert.Regexp(t, `^TLSv1\.[23]$`, tlsVersion(t, p))
}
