// Package ffmpegtest finds ffmpeg and ffprobe for the tests that read or make real media files with
// them (the recorder's, `server recording mux`'s, the recording end-to-end tests). Without them a test
// skips with what to install; with HUDDLE_REQUIRE_FFMPEG=1 (CI, which installs them) it fails instead.
//
// Locking: none; Tools may be called from concurrent tests.
package ffmpegtest

import (
	"errors"
	"os"
	"os/exec"
	"testing"
)

// Tools returns the paths of ffmpeg and ffprobe, or ends the test as the package comment says.
func Tools(tb testing.TB) (ffmpeg, ffprobe string) {
	tb.Helper()
	ffmpeg, err1 := exec.LookPath("ffmpeg")
	ffprobe, err2 := exec.LookPath("ffprobe")
	if err := errors.Join(err1, err2); err != nil {
		if os.Getenv("HUDDLE_REQUIRE_FFMPEG") == "1" {
			tb.Fatalf("ffmpeg and ffprobe are required (HUDDLE_REQUIRE_FFMPEG=1; Debian: apt-get install ffmpeg): %v", err)
		}
		tb.Skipf("ffmpeg and ffprobe are not installed (Debian: apt-get install ffmpeg; HUDDLE_REQUIRE_FFMPEG=1 makes this fail): %v", err)
	}
	return ffmpeg, ffprobe
}
