package recording

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ManifestName is the manifest's file name in a recording's directory.
const ManifestName = "manifest.json"

// Manifest describes one recording's files, written beside them when the recording ends, so that a
// user (or `server recording mux`) can put the tracks together with ffmpeg.
type Manifest struct {
	ID           string        `json:"id"`
	Room         string        `json:"room"`
	Mode         string        `json:"mode,omitempty"`
	StartedAt    time.Time     `json:"startedAt"`
	EndedAt      time.Time     `json:"endedAt"`
	Ended        string        `json:"ended"`           // why it ended: stopped, disk_full, failed, room_ended
	StartedBy    string        `json:"startedBy"`       // name of who started it
	ConsentAsked bool          `json:"consentAsked"`    // a consultation: patients were asked first
	Participants []Participant `json:"participants"`    // everyone whose tracks were recorded or who was asked
	Tracks       []Track       `json:"tracks"`          // one file each
	Error        string        `json:"error,omitempty"` // what went wrong, when Ended is failed or disk_full
}

// Participant is one person in a recording.
type Participant struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Identity string `json:"identity,omitempty"`
	Role     string `json:"role,omitempty"`
	// Consented is set when the participant was asked and accepted, with when.
	Consented   bool       `json:"consented"`
	ConsentedAt *time.Time `json:"consentedAt,omitempty"`
}

// Track is one recorded track's file.
type Track struct {
	File          string  `json:"file"` // name inside the recording's directory
	ParticipantID string  `json:"participantId"`
	TrackID       string  `json:"trackId"`
	Kind          string  `json:"kind"`   // audio or video
	Source        string  `json:"source"` // camera, microphone, screen, screen_audio
	Codec         string  `json:"codec"`  // mime type
	StartOffset   float64 `json:"startOffsetSeconds"`
	Duration      float64 `json:"durationSeconds"`
	Frames        int     `json:"frames"`
	Gaps          int     `json:"gaps"`  // frames lost for good
	Bytes         int64   `json:"bytes"` // file size
	Width         int     `json:"width,omitempty"`
	Height        int     `json:"height,omitempty"`
}

// ReadManifest reads the manifest of the recording in dir.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return m, fmt.Errorf("recording: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("recording: %s: %w", filepath.Join(dir, ManifestName), err)
	}
	return m, nil
}

// writeManifest writes m into dir, through a temporary file so that a reader never sees half of it.
func writeManifest(dir string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("recording: manifest: %w", err)
	}
	tmp := filepath.Join(dir, ManifestName+".tmp")
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return fmt.Errorf("recording: manifest: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, ManifestName)); err != nil {
		return fmt.Errorf("recording: manifest: %w", err)
	}
	return nil
}
