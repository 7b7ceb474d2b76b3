package redisserver

import (
	"crypto/tls"
	"path/filepath"

	"github.com/actorpool/actorpool/internal/testserver"
)

// WithTLS makes the server accept only TLS connections, with a certificate
// for 127.0.0.1 signed by a throwaway CA made for this server. TLSConfig
// returns a client configuration that trusts that CA; URL uses rediss://.
func WithTLS() Option {
	return func(s *Server) { s.tls = true }
}

// TLSConfig is a client TLS configuration that trusts the server's CA, or
// nil when the server does not use TLS. Each call returns a new value.
func (s *Server) TLSConfig() *tls.Config {
	if s.caPool == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.caPool, MinVersion: tls.VersionTLS12}
}

// makeCertificates writes ca.crt, server.crt and server.key into s.dir and
// keeps the CA for TLSConfig.
func (s *Server) makeCertificates() error {
	c, err := testserver.MakeCertificates(s.dir, "redisserver test CA")
	if err != nil {
		return err
	}
	s.caPool = c.CA
	return nil
}

// tlsConfigLines are the redis.conf lines of a TLS-only server on port.
func (s *Server) tlsConfigLines(port string) []string {
	return []string{
		"port 0",
		"tls-port " + port,
		"tls-cert-file " + filepath.Join(s.dir, "server.crt"),
		"tls-key-file " + filepath.Join(s.dir, "server.key"),
		"tls-ca-cert-file " + filepath.Join(s.dir, "ca.crt"),
		"tls-auth-clients no",
	}
}
