package node

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/huddlehq/huddle/signaling/recording"
)

// RecordingConfig is where the node writes recordings of calls (PROTOCOL.md "Recording"); recording is
// off until Dir is set.
type RecordingConfig struct {
	// Dir holds one directory per recording (created if missing). Empty: hosts cannot record.
	Dir string `yaml:"dir"`
	// MinFreeMB: a recording does not start, and stops with a message to the host, when the disk of Dir
	// has less free space than this (default 500).
	MinFreeMB int64 `yaml:"min_free_mb"`
	// MaxMB caps one recording's files together (0: no cap); reaching it stops the recording as a full
	// disk would.
	MaxMB int64 `yaml:"max_mb"`
	// CheckInterval is how often the disk is checked while recording (default 1s).
	CheckInterval time.Duration `yaml:"check_interval"`
}

func (c RecordingConfig) validate() []error {
	var errs []error
	if c.Dir != "" && !filepath.IsAbs(c.Dir) {
		errs = append(errs, fmt.Errorf("recording.dir %q must be an absolute path", c.Dir))
	}
	if c.MinFreeMB < 0 {
		errs = append(errs, fmt.Errorf("recording.min_free_mb %d is negative", c.MinFreeMB))
	}
	if c.MaxMB < 0 {
		errs = append(errs, fmt.Errorf("recording.max_mb %d is negative", c.MaxMB))
	}
	if c.CheckInterval < 0 {
		errs = append(errs, fmt.Errorf("recording.check_interval %s is negative", c.CheckInterval))
	}
	return errs
}

// newRecorder opens the recording directory; nil when recording is off.
func newRecorder(c RecordingConfig, log *slog.Logger) (*recording.Recorder, error) {
	if c.Dir == "" {
		return nil, nil
	}
	rec, err := recording.New(recording.Config{Dir: c.Dir, MinFreeBytes: c.MinFreeMB << 20, MaxBytes: c.MaxMB << 20,
		CheckEvery: c.CheckInterval, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("recording.dir: %w", err)
	}
	return rec, nil
}
