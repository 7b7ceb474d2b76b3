package redisserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
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
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "redisserver test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	for name, block := range map[string]*pem.Block{
		"ca.crt":     {Type: "CERTIFICATE", Bytes: caDER},
		"server.crt": {Type: "CERTIFICATE", Bytes: der},
		"server.key": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(s.dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	s.caPool = x509.NewCertPool()
	s.caPool.AddCert(ca)
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
