package redact

import (
	crand "crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchValues are n random values of 8 to 40 characters, like passwords,
// tokens and host names.
func benchValues(n int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."
	out := make([]string, n)
	for i := range out {
		b := make([]byte, 8+rng.IntN(33))
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		out[i] = string(b)
	}
	return out
}

// benchLog is 1 MiB of test-log-like lines, one in a thousand holding a value.
func benchLog(values []string) []byte {
	rng := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	for i := 0; b.Len() < 1<<20; i++ {
		fmt.Fprintf(&b, "2026-12-01T20:%02d:%02d.%03dZ INFO  [pool-%d-thread-%d] i.a.c.s.SourceS3 - read %d records from bucket page %d",
			i%60, i%60, i%1000, i%7, i%13, rng.IntN(100000), i)
		if i%1000 == 0 {
			b.WriteString(" config=" + values[rng.IntN(len(values))])
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// BenchmarkThroughput redacts 1,000 values (7,000 forms and more) in
// test-log output written in 32 KiB chunks, as a pipe delivers it; each
// iteration is 1 MiB, so -benchtime=100x is 100 MiB.
func BenchmarkThroughput(b *testing.B) {
	values := benchValues(1000)
	m := NewMatcher(values)
	log := benchLog(values)
	w := m.NewWriter(io.Discard, Options{})
	b.SetBytes(int64(len(log)))
	b.ResetTimer()
	for range b.N {
		for rest := log; len(rest) > 0; {
			n := min(32<<10, len(rest))
			if _, err := w.Write(rest[:n]); err != nil {
				b.Fatal(err)
			}
			rest = rest[n:]
		}
	}
	b.StopTimer()
	w.Close()
	b.ReportMetric(float64(m.Patterns()), "patterns")
}

// BenchmarkLine is the added latency of one line written on its own (as a
// line-buffered child writes it): the line is passed on within the Write,
// so the time per operation is the delay a line sees.
func BenchmarkLine(b *testing.B) {
	values := benchValues(1000)
	m := NewMatcher(values)
	line := []byte("2026-12-01T20:00:00.000Z INFO  [pool-1-thread-1] i.a.c.s.SourceS3 - read 123 records from bucket\n")
	w := m.NewWriter(io.Discard, Options{})
	b.SetBytes(int64(len(line)))
	b.ResetTimer()
	for range b.N {
		if _, err := w.Write(line); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	w.Close()
}

// BenchmarkBuild is the one-off cost of building the matcher for 1,000 values.
func BenchmarkBuild(b *testing.B) {
	values := benchValues(1000)
	b.ReportAllocs()
	for range b.N {
		NewMatcher(values)
	}
}

// BenchmarkBuildWithKey is the matcher exec builds for a connector: ten
// values plus a service-account key's private key (a 2048-bit RSA key in
// PEM, 28 lines) and its ID, whose forms are redacted too.
func BenchmarkBuildWithKey(b *testing.B) {
	key, err := rsa.GenerateKey(crand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		b.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	values := append(benchValues(10), pemKey, "8f1c0e6a2b3d4e5f60718293a4b5c6d7e8f90a1b")
	b.ReportAllocs()
	var m *Matcher
	for range b.N {
		m = NewMatcher(values)
	}
	b.ReportMetric(float64(m.Patterns()), "patterns")
}
