package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/activitylog/activitylog/instrumentation"
	"github.com/activitylog/activitylog/instrumentation/otlp"
	"github.com/activitylog/activitylog/internal/collectortest"
	"github.com/activitylog/activitylog/internal/estest"
	"github.com/activitylog/activitylog/schema"
)

// selfSigned writes a CA and a certificate for 127.0.0.1 signed by it, and
// returns the files and the CA's pool.
func selfSigned(t *testing.T) (caFile, certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "activitylog test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "activitycol"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(caCert)
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", der), write("key.pem", "EC PRIVATE KEY", keyDER), pool
}

// TestIngestOverTLS proves the TLS overlay (otelcol-tls.yaml): with it
// merged, both receivers speak only TLS, still require the ingest token, and
// records sent through the library over TLS reach Elasticsearch.
func TestIngestOverTLS(t *testing.T) {
	estest.InstallSchema(t)
	ns := estest.Namespace(t)
	caFile, certFile, keyFile, pool := selfSigned(t)
	col := collectortest.Start(t, collectortest.Options{Namespace: ns, Configs: []string{"otelcol-tls.yaml"},
		Env: map[string]string{"ACTIVITYCOL_TLS_CERT_FILE": certFile, "ACTIVITYCOL_TLS_KEY_FILE": keyFile}})

	post := func(client *http.Client, scheme, authorization string) (int, error) {
		req, err := http.NewRequest(http.MethodPost, scheme+"://"+col.HTTPEndpoint+"/v1/logs", strings.NewReader(`{"resourceLogs":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	tlsClient := &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	if got, err := post(tlsClient, "https", "Bearer "+col.Token); err != nil || got != http.StatusOK {
		t.Errorf("HTTPS with the token: got %d (%v), want 200", got, err)
	}
	if got, err := post(tlsClient, "https", ""); err != nil || got != http.StatusUnauthorized {
		t.Errorf("HTTPS without the token: got %d (%v), want 401", got, err)
	}
	if got, err := post(&http.Client{Timeout: 10 * time.Second}, "http", "Bearer "+col.Token); err == nil && got == http.StatusOK {
		t.Errorf("plaintext HTTP to the TLS receiver: got 200, want it refused")
	}

	// The library over gRPC with TLS: the CA comes from the standard variable.
	t.Setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", caFile)
	provider, err := otlp.NewProvider(context.Background(), otlp.WithEndpoint("https://"+col.GRPCEndpoint),
		otlp.WithHeaders(col.Headers()), otlp.WithServiceName("e2e-tls"), otlp.WithExportInterval(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	const n = 25
	emitBatch(t, instrumentation.New(provider), n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := provider.Shutdown(ctx); err != nil {
		t.Fatalf("provider shutdown: %v", err)
	}
	if st := provider.Stats(); st.Exported != n {
		t.Fatalf("got provider stats %+v, want %d exported over TLS", st, n)
	}
	stream := schema.DataStream(ns)
	if got := collectortest.WaitForCount(t, estest.URL(t), stream, n, 60*time.Second); got != n {
		t.Fatalf("got %d documents in %s, want exactly %d", got, stream, n)
	}
}

// TestTLSOverlayRequiresCertificate proves that with the TLS overlay merged
// and no certificate given, the collector refuses to start rather than
// listen in plaintext.
func TestTLSOverlayRequiresCertificate(t *testing.T) {
	out := startFails(t, []string{"ACTIVITYCOL_INGEST_TOKEN=" + collectortest.NewToken(t),
		"ACTIVITYCOL_TLS_CERT_FILE=", "ACTIVITYCOL_TLS_KEY_FILE="}, "otelcol-tls.yaml")
	if !strings.Contains(out, "TLS configuration must include both certificate and key") {
		t.Errorf("got output\n%s\nwant it to say the certificate and key are missing", out)
	}
}
