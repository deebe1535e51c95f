// Package recording runs a call's recordings on the node whose media plane holds the room: one
// directory per recording, one file per recorded track (written by sfu/record from the sfu's record
// taps, no transcoding), a manifest beside them, and the disk watched before and during. It knows
// files and the media plane's taps; nothing of sessions, the JSON protocol, tokens or Redis: the
// signalling room decides who is recorded (consent) and tells it here.
//
// Locking: a Recording's methods may be called from any goroutine, also under the caller's room lock:
// they only queue a command (Recording.mu, a leaf) for the recording's goroutine, which does every
// file operation and calls the onEnd callback holding no lock of its own. Recorder is immutable.
// Goroutines: one per Recording, ended by Stop, by a full disk or by a write error.
package recording

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/huddlehq/huddle/sfu"
	"github.com/huddlehq/huddle/sfu/record"
)

// Why a recording ended (Manifest.Ended); the same words as the protocol's.
const (
	EndedStopped  = "stopped"
	EndedDiskFull = "disk_full"
	EndedFailed   = "failed"
	EndedRoom     = "room_ended"
)

// ErrDiskFull refuses to start a recording on a disk with less free space than Config.MinFreeBytes.
var ErrDiskFull = errors.New("recording: too little free disk space")

// Config sets where and how much the node records.
type Config struct {
	// Dir holds one directory per recording; it is created if missing.
	Dir string
	// MinFreeBytes: a recording does not start, and stops, when the disk has less free space than this.
	MinFreeBytes int64
	// MaxBytes caps one recording's files together (0: no cap); reaching it ends the recording as a
	// full disk would.
	MaxBytes int64
	// CheckEvery is how often the disk is checked during a recording (0: every second).
	CheckEvery time.Duration
	Logger     *slog.Logger
}

// Recorder starts recordings in its directory.
type Recorder struct {
	cfg Config
	log *slog.Logger
}

// New checks the directory (created if missing, must be writable) and returns a Recorder.
func New(cfg Config) (*Recorder, error) {
	if cfg.Dir == "" {
		return nil, errors.New("recording: no directory")
	}
	if cfg.CheckEvery <= 0 {
		cfg.CheckEvery = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("recording: directory: %w", err)
	}
	probe, err := os.CreateTemp(cfg.Dir, ".write-check-*")
	if err != nil {
		return nil, fmt.Errorf("recording: directory %s is not writable: %w", cfg.Dir, err)
	}
	_ = probe.Close()
	_ = os.Remove(probe.Name())
	return &Recorder{cfg: cfg, log: cfg.Logger.With("component", "recording")}, nil
}

// CheckSpace reports ErrDiskFull when the directory's disk has less than MinFreeBytes free.
func (r *Recorder) CheckSpace() error {
	free, err := freeBytes(r.cfg.Dir)
	if err != nil {
		return fmt.Errorf("recording: disk space of %s: %w", r.cfg.Dir, err)
	}
	if free < r.cfg.MinFreeBytes {
		return fmt.Errorf("%w: %d MB free in %s, at least %d MB needed", ErrDiskFull, free>>20, r.cfg.Dir, r.cfg.MinFreeBytes>>20)
	}
	return nil
}

func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil //nolint:gosec,unconvert // sizes fit
}

// DirOf is the directory of the recording id.
func (r *Recorder) DirOf(id string) string { return filepath.Join(r.cfg.Dir, id) }

// Info describes a recording as its manifest will.
type Info struct {
	Room, Mode, StartedBy string
	ConsentAsked          bool
}

// Start begins a recording; its directory is made on the recording's goroutine. onEnd is called once,
// from that goroutine, when the recording has ended (Stop, a full disk, a write error) and its
// manifest is written; m.Ended says why.
func (r *Recorder) Start(info Info, onEnd func(m Manifest)) *Recording {
	id := time.Now().UTC().Format("20060102T150405Z") + "-" + randomHex(4)
	rec := &Recording{
		rec: r, id: id, dir: filepath.Join(r.cfg.Dir, id), onEnd: onEnd, wake: make(chan struct{}, 1),
		log: r.log.With("recording", id, "room", info.Room),
		manifest: Manifest{ID: id, Room: info.Room, Mode: info.Mode, StartedBy: info.StartedBy,
			ConsentAsked: info.ConsentAsked, StartedAt: time.Now().UTC()},
		done: make(chan struct{}),
	}
	go rec.run()
	return rec
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Recordable is a participant's media that can be recorded (the media plane's participant).
type Recordable interface {
	Record(trackID string, sink sfu.RecordSink) (*sfu.RecordTap, error)
}

// Recording is one running recording.
type Recording struct {
	rec   *Recorder
	id    string
	dir   string
	log   *slog.Logger
	onEnd func(Manifest)
	wake  chan struct{}
	done  chan struct{}

	mu       sync.Mutex // guards queue and stopReason
	queue    []func()
	stopping string // the reason of a requested stop, "" if none

	// Owned by run.
	manifest Manifest
	tracks   []*trackFile
	noDir    bool // the directory could not be made: no manifest either
}

// trackFile is one track being written.
type trackFile struct {
	meta   Track
	writer *record.TrackWriter
	tap    *sfu.RecordTap
	closed bool
}

// ID is the recording's name (its directory's name).
func (rec *Recording) ID() string { return rec.id }

// Dir is the recording's directory.
func (rec *Recording) Dir() string { return rec.dir }

// Done is closed once the recording ended and onEnd returned.
func (rec *Recording) Done() <-chan struct{} { return rec.done }

// AddParticipant lists a participant in the manifest (once per id).
func (rec *Recording) AddParticipant(p Participant) {
	rec.do(func() {
		for _, q := range rec.manifest.Participants {
			if q.ID == p.ID {
				return
			}
		}
		rec.manifest.Participants = append(rec.manifest.Participants, p)
	})
}

// Consent records that a participant accepted being recorded.
func (rec *Recording) Consent(participantID string, at time.Time) {
	rec.do(func() {
		for i := range rec.manifest.Participants {
			if p := &rec.manifest.Participants[i]; p.ID == participantID {
				t := at.UTC()
				p.Consented, p.ConsentedAt = true, &t
			}
		}
	})
}

// AddTrack starts recording one published track of media.
func (rec *Recording) AddTrack(media Recordable, t sfu.TrackInfo) {
	rec.do(func() { rec.addTrack(media, t) })
}

// Stop ends the recording (reason: EndedStopped or EndedRoom).
func (rec *Recording) Stop(reason string) {
	rec.mu.Lock()
	if rec.stopping == "" {
		rec.stopping = reason
	}
	rec.mu.Unlock()
	rec.signal()
}

func (rec *Recording) do(fn func()) {
	rec.mu.Lock()
	rec.queue = append(rec.queue, fn)
	rec.mu.Unlock()
	rec.signal()
}

func (rec *Recording) signal() {
	select {
	case rec.wake <- struct{}{}:
	default:
	}
}

// run is the recording's goroutine.
func (rec *Recording) run() {
	defer close(rec.done)
	if err := os.Mkdir(rec.dir, 0o750); err != nil {
		rec.noDir = true
		rec.finish(EndedFailed, fmt.Errorf("recording: directory: %w", err))
		return
	}
	rec.log.Info("recording started", "dir", rec.dir)
	tick := time.NewTicker(rec.rec.cfg.CheckEvery)
	defer tick.Stop()
	for {
		select {
		case <-rec.wake:
		case <-tick.C:
			if reason, err := rec.checkDisk(); err != nil {
				rec.runQueue()
				rec.finish(reason, err)
				return
			}
		}
		rec.runQueue()
		if reason, err := rec.checkTaps(); err != nil {
			rec.finish(reason, err)
			return
		}
		rec.mu.Lock()
		reason := rec.stopping
		rec.mu.Unlock()
		if reason != "" {
			rec.finish(reason, nil)
			return
		}
	}
}

func (rec *Recording) runQueue() {
	rec.mu.Lock()
	q := rec.queue
	rec.queue = nil
	rec.mu.Unlock()
	for _, fn := range q {
		fn()
	}
}

// safeName keeps a file name part to letters, digits, '-' and '_': ids come from the server, but a
// file name must not depend on that.
var safeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func (rec *Recording) addTrack(media Recordable, t sfu.TrackInfo) {
	for _, tf := range rec.tracks {
		if tf.meta.TrackID == t.ID && !tf.closed {
			return
		}
	}
	ext, ok := record.FileExtension(t.Codec)
	if !ok {
		rec.log.Warn("track not recorded: codec not supported", "track", t.ID, "codec", t.Codec)
		return
	}
	name := fmt.Sprintf("%02d-%s-%s%s", len(rec.tracks)+1, safeName.ReplaceAllString(t.ParticipantID, "_"),
		safeName.ReplaceAllString(strings.ToLower(string(t.Source)), "_"), ext)
	clock, channels := uint32(90000), uint16(0)
	if t.Kind == "audio" {
		clock, channels = 48000, 2
	}
	w, err := record.NewTrackWriter(filepath.Join(rec.dir, name), t.Codec, clock, channels, record.Options{MaxBytes: rec.rec.cfg.MaxBytes})
	if err != nil {
		rec.log.Warn("track not recorded", "track", t.ID, "err", err)
		return
	}
	tap, err := media.Record(t.ID, w)
	if err != nil {
		_, _ = w.Close()
		_ = os.Remove(filepath.Join(rec.dir, name))
		rec.log.Debug("track not recorded", "track", t.ID, "err", err) // unpublished meanwhile
		return
	}
	rec.tracks = append(rec.tracks, &trackFile{writer: w, tap: tap, meta: Track{File: name, ParticipantID: t.ParticipantID,
		TrackID: t.ID, Kind: t.Kind, Source: string(t.Source), Codec: t.Codec}})
	rec.log.Info("recording track", "track", t.ID, "participant", t.ParticipantID, "file", name)
}

// checkTaps closes the files of tracks that ended; a write error ends the whole recording.
func (rec *Recording) checkTaps() (string, error) {
	for _, tf := range rec.tracks {
		if tf.closed {
			continue
		}
		select {
		case <-tf.tap.Done():
		default:
			continue
		}
		err := tf.tap.Err()
		rec.closeTrack(tf)
		switch {
		case err == nil: // the track was unpublished
		case errors.Is(err, record.ErrQuota), errors.Is(err, syscall.ENOSPC):
			return EndedDiskFull, err
		default:
			return EndedFailed, err
		}
	}
	return "", nil
}

// checkDisk ends the recording when the disk runs low or the recording outgrows its cap.
func (rec *Recording) checkDisk() (string, error) {
	cfg := rec.rec.cfg
	if free, err := freeBytes(rec.dir); err == nil && free < cfg.MinFreeBytes {
		return EndedDiskFull, fmt.Errorf("%w: %d MB left", ErrDiskFull, free>>20)
	}
	if cfg.MaxBytes > 0 {
		var total int64
		for _, tf := range rec.tracks {
			if st, err := os.Stat(filepath.Join(rec.dir, tf.meta.File)); err == nil {
				total += st.Size()
			}
		}
		if total >= cfg.MaxBytes {
			return EndedDiskFull, fmt.Errorf("%w: the recording reached its cap of %d MB", ErrDiskFull, cfg.MaxBytes>>20)
		}
	}
	return "", nil
}

func (rec *Recording) closeTrack(tf *trackFile) {
	if tf.closed {
		return
	}
	tf.closed = true
	tf.tap.Stop()
	sum, err := tf.writer.Close()
	if err != nil {
		rec.log.Warn("closing a recorded track", "file", tf.meta.File, "err", err)
	}
	tf.meta.Duration = sum.Duration.Seconds()
	tf.meta.Frames, tf.meta.Gaps, tf.meta.Bytes = sum.Frames, sum.Gaps, sum.Bytes
	tf.meta.Width, tf.meta.Height = sum.Width, sum.Height
	if !sum.FirstFrame.IsZero() {
		tf.meta.StartOffset = max(sum.FirstFrame.Sub(rec.manifest.StartedAt).Seconds(), 0)
	}
}

// finish closes every file, writes the manifest and calls onEnd.
func (rec *Recording) finish(reason string, cause error) {
	for _, tf := range rec.tracks {
		rec.closeTrack(tf)
	}
	m := rec.manifest
	m.EndedAt, m.Ended = time.Now().UTC(), reason
	if cause != nil {
		m.Error = cause.Error()
	}
	m.Tracks = make([]Track, 0, len(rec.tracks))
	for _, tf := range rec.tracks {
		if tf.meta.Frames == 0 { // nothing arrived: no file worth keeping
			_ = os.Remove(filepath.Join(rec.dir, tf.meta.File))
			continue
		}
		m.Tracks = append(m.Tracks, tf.meta)
	}
	if !rec.noDir {
		if err := writeManifest(rec.dir, m); err != nil {
			rec.log.Warn("manifest not written", "err", err)
		}
	}
	level := slog.LevelInfo
	if cause != nil {
		level = slog.LevelWarn
	}
	rec.log.Log(context.Background(), level, "recording ended", "ended", reason, "tracks", len(m.Tracks), "err", cause)
	if rec.onEnd != nil {
		rec.onEnd(m)
	}
}
