package node

import (
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node/testcert"
)

// TestCertFilesReload: a renewed certificate written over the files is served from the next check on,
// and files that stop loading keep the old one.
func TestCertFilesReload(t *testing.T) {
	dir := t.TempDir()
	first, err := testcert.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := loadCertFiles(first.CertFile, first.KeyFile, "tls.cert_file/key_file", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	served := func() []byte {
		certs.mu.Lock()
		certs.checkedAt = time.Time{} // due for a look
		certs.mu.Unlock()
		c, err := certs.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Certificate[0]
	}
	before := served()
	renewed, err := testcert.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for src, dst := range map[string]string{renewed.CertFile: first.CertFile, renewed.KeyFile: first.KeyFile} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(time.Minute) // a modification time that differs, whatever the clock's grain
		if err := os.Chtimes(dst, later, later); err != nil {
			t.Fatal(err)
		}
	}
	after := served()
	if string(after) == string(before) {
		t.Fatal("the renewed certificate was not picked up")
	}
	if err := os.WriteFile(first.KeyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(2 * time.Minute)
	_ = os.Chtimes(first.KeyFile, later, later)
	if got := served(); string(got) != string(after) {
		t.Error("a broken key file replaced the working certificate")
	}
	if _, err := loadCertFiles(first.CertFile, first.KeyFile, "tls.cert_file/key_file", slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a broken key file loads at start")
	}
}
