package ingestauth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensionauth"
	"go.opentelemetry.io/collector/extension/extensiontest"
)

const token = "0123456789abcdef0123456789abcdef"

// start creates and starts the extension with cfg, the contrib extension
// underneath being the real one.
func start(t *testing.T, cfg *bearertokenauthextension.Config) (extensionauth.Server, error) {
	t.Helper()
	set := extensiontest.NewNopSettings(Type)
	ext, err := NewFactory().Create(context.Background(), set, cfg)
	if err != nil {
		return nil, err
	}
	if err := ext.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ext.Shutdown(context.Background()) })
	return ext.(extensionauth.Server), nil
}

func config(mod func(*bearertokenauthextension.Config)) *bearertokenauthextension.Config {
	cfg := NewFactory().CreateDefaultConfig().(*bearertokenauthextension.Config)
	mod(cfg)
	return cfg
}

func allowed(s extensionauth.Server, headers map[string][]string) bool {
	_, err := s.Authenticate(context.Background(), headers)
	return err == nil
}

func TestAuthenticate(t *testing.T) {
	s, err := start(t, config(func(c *bearertokenauthextension.Config) { c.BearerToken = token }))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		headers map[string][]string
		want    bool
	}{
		{"HTTP header", map[string][]string{"Authorization": {"Bearer " + token}}, true},
		{"gRPC metadata", map[string][]string{"authorization": {"Bearer " + token}}, true},
		{"none", map[string][]string{}, false},
		{"empty", map[string][]string{"Authorization": {}}, false},
		{"another token", map[string][]string{"Authorization": {"Bearer " + strings.Repeat("x", 32)}}, false},
		{"without the scheme", map[string][]string{"Authorization": {token}}, false},
		{"scheme only", map[string][]string{"Authorization": {"Bearer "}}, false},
	} {
		if got := allowed(s, tt.headers); got != tt.want {
			t.Errorf("%s: got allowed %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestCommentLineIsNoToken proves the hole this package closes: the contrib
// extension takes the first word of every line of its token file as a
// token, so a comment line written into the file after the start (the
// extension reads it again) let anyone in with "Bearer #".
func TestCommentLineIsNoToken(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := start(t, config(func(c *bearertokenauthextension.Config) { c.Filename = file }))
	if err != nil {
		t.Fatal(err)
	}
	// A comment line and a second token; once the second token is let
	// in, the contrib extension has read the file again, and the comment's
	// first word is one of its tokens too.
	other := strings.Repeat("y", 32)
	if err := os.WriteFile(file, []byte("# ingest tokens, one per line\n"+token+"\n"+other+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !allowed(s, map[string][]string{"Authorization": {"Bearer " + other}}) {
		if time.Now().After(deadline) {
			t.Fatal("the token file was not read again within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if allowed(s, map[string][]string{"Authorization": {"Bearer #"}}) {
		t.Error(`"Bearer #" let in by a comment line in the token file`)
	}
	if !allowed(s, map[string][]string{"Authorization": {"Bearer " + token}}) {
		t.Error("the real token was refused")
	}
}

func TestWeakTokensRefusedAtStart(t *testing.T) {
	dir := t.TempDir()
	commented := filepath.Join(dir, "commented")
	if err := os.WriteFile(commented, []byte("\n# ingest tokens\n"+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good")
	if err := os.WriteFile(good, []byte(token+" loyalty-api\n\n"+strings.Repeat("z", 16)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		mod  func(*bearertokenauthextension.Config)
		want string // "" means it starts
	}{
		{"short token", func(c *bearertokenauthextension.Config) { c.BearerToken = "abc123" }, "token: must be 16 characters or more"},
		{"short one of tokens", func(c *bearertokenauthextension.Config) {
			c.Tokens = append(c.Tokens, token, "abc123")
		}, "tokens[1]: must be 16"},
		{"comment line in the file", func(c *bearertokenauthextension.Config) { c.Filename = commented }, "line 2: a token must be 16"},
		{"missing file", func(c *bearertokenauthextension.Config) { c.Filename = filepath.Join(dir, "none") }, "token file"},
		{"good file", func(c *bearertokenauthextension.Config) { c.Filename = good }, ""},
		{"good token", func(c *bearertokenauthextension.Config) { c.BearerToken = token }, ""},
	} {
		_, err := start(t, config(tt.mod))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: got error %v, want a start", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got error %v, want one containing %q", tt.name, err, tt.want)
		case err != nil && strings.Contains(err.Error(), "abc123"):
			t.Errorf("%s: the error %q quotes the token", tt.name, err)
		}
	}
}
