package loki

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"github.com/kaudit/kaudit/plugin/config"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pki writes a CA and a leaf signed by it (for 127.0.0.1) as PEM files.
func pki(t *testing.T, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (certFile, keyFile string, cert *x509.Certificate, key *ecdsa.PrivateKey) {
	t.Helper()
	key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	parent, signer := tmpl, key
	if ca == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	} else {
		parent, signer = ca, caKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return
}

func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	caFile, _, ca, caKey := pki(t, dir, "ca", nil, nil)
	srvCert, srvKey, _, _ := pki(t, dir, "server", ca, caKey)
	cliCert, cliKey, _, _ := pki(t, dir, "client", ca, caKey)

	rec := &recorder{}
	srv := httptest.NewUnstartedServer(rec)
	pair, err := tls.LoadX509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	defer srv.Close()

	base := Settings{Loki: config.Loki{URL: srv.URL + "/loki/api/v1/push", Timeout: 2 * time.Second, MaxRequestBytes: 1 << 20, TLSVerify: true}}
	deliver := func(s Settings) error {
		c, err := New(s)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Deliver(context.Background(), batchOf(3))
		return err
	}

	ok := base
	ok.TLSCAFile, ok.TLSCertFile, ok.TLSKeyFile = caFile, cliCert, cliKey
	if err := deliver(ok); err != nil {
		t.Fatalf("mutual TLS with the right CA and client cert: %v", err)
	}
	noCA := ok
	noCA.TLSCAFile = ""
	var re *RetryError
	if err := deliver(noCA); !errors.As(err, &re) {
		t.Errorf("an unknown server CA must fail (and be retried): %v", err)
	}
	noClient := base
	noClient.TLSCAFile = caFile
	if err := deliver(noClient); !errors.As(err, &re) {
		t.Errorf("a missing client certificate must fail: %v", err)
	}
	if len(rec.requests) != 1 {
		t.Errorf("%d requests reached the server, want 1", len(rec.requests))
	}
}
