package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigCheck: `server config check FILE` names every problem with its line (an unknown key and a bad
// value in the same file), exits non-zero, and for a good file prints the effective configuration with
// every secret masked. Every example config in configs/ passes.
func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	secret := strings.Repeat("k", 40)
	cases := []struct {
		name, yaml string
		wantErr    []string // lines of stderr
		wantOut    []string
		notOut     []string
	}{
		{name: "unknown key and bad value",
			yaml:    "http:\n  addr: 127.0.0.1:7880\nmedia:\n  udp_port: 70000\n  udp_prot: 3\nlog:\n  format: xml\n",
			wantErr: []string{"line 5: field udp_prot not found", "line 4: media.udp_port 70000 is not a port", `line 7: log.format "xml" is not text or json`}},
		{name: "bad redis url", yaml: "cluster:\n  redis_url: http://nope\n", wantErr: []string{"line 2: cluster.redis_url"}},
		{name: "not YAML", yaml: "media: [1\n", wantErr: []string{"yaml"}},
		{name: "good, secrets masked",
			yaml:    "auth:\n  keys:\n    - key: APIprod\n      secret: " + secret + "\ncluster:\n  redis_url: redis://:hunter2hunter2@127.0.0.1:6379/0\nturn:\n  secret: turn-secret-0123456789\n",
			wantOut: []string{"key: APIprod", "secret: '********'", "redis://:********@127.0.0.1:6379/0"},
			notOut:  []string{secret, "hunter2", "turn-secret-0123456789"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run([]string{"config", "check", write(strings.ReplaceAll(tc.name, " ", "-")+".yaml", tc.yaml)}, &out, &errOut)
			if (err != nil) != (len(tc.wantErr) > 0) {
				t.Fatalf("err %v, stderr:\n%s", err, errOut.String())
			}
			if err != nil && tc.name != "not YAML" && !errors.Is(err, errConfigInvalid) {
				t.Errorf("err %v, want errConfigInvalid", err)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(errOut.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
				}
			}
			for _, want := range tc.wantOut {
				if !strings.Contains(out.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, out.String())
				}
			}
			for _, secret := range tc.notOut {
				if strings.Contains(out.String()+errOut.String(), secret) {
					t.Errorf("a secret was printed: %q", secret)
				}
			}
		})
	}
	// The examples that serve other machines take their key from the environment, as documented.
	t.Setenv(envAPIKey, "APIexample")
	t.Setenv(envAPISecret, secret)
	examples, _ := filepath.Glob("../../configs/*.yaml")
	for _, path := range examples {
		if strings.Contains(path, "k8s") || strings.Contains(path, "compose") || strings.Contains(path, "prometheus") {
			continue // not a node's config
		}
		var out, errOut bytes.Buffer
		if err := run([]string{"config", "check", path}, &out, &errOut); err != nil {
			t.Errorf("%s: %v\n%s", path, err, errOut.String())
		}
	}
}
