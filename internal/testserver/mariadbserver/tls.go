package mariadbserver

// This file is the server's TLS: WithTLS, and the client configuration
// that trusts it.

import (
	"crypto/tls"

	"github.com/actorpool/actorpool/internal/testserver"
)

// Option configures Start.
type Option func(*Server)

// WithTLS makes the server offer TLS, with a certificate for 127.0.0.1 and
// localhost signed by a throwaway CA made for this server. Clients may
// still connect without TLS (the user does not require it). TLSConfig
// returns a client configuration that trusts the CA.
func WithTLS() Option {
	return func(s *Server) { s.tls = true }
}

// TLSConfig is a client TLS configuration that trusts the server's CA, or
// nil when the server does not offer TLS. Each call returns a new value.
func (s *Server) TLSConfig() *tls.Config {
	if s.certs == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.certs.CA, MinVersion: tls.VersionTLS12}
}

// tlsFlags are mariadbd's flags for the certificates, none without TLS.
func (s *Server) tlsFlags() []string {
	if s.certs == nil {
		return nil
	}
	return []string{"--ssl-ca=" + s.certs.CAFile, "--ssl-cert=" + s.certs.CertFile, "--ssl-key=" + s.certs.KeyFile}
}

// makeCertificates writes the certificates into the server's directory.
func (s *Server) makeCertificates() error {
	c, err := testserver.MakeCertificates(s.dir, "mariadbserver test CA")
	if err != nil {
		return err
	}
	s.certs = c
	return nil
}
