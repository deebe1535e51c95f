package loadtest

import (
	"fmt"
	"strings"
	"time"

	"github.com/huddlehq/huddle/loadtest/media"
)

// Preset is a named scenario: how the server's users load it.
type Preset struct {
	Name        string
	Description string
	// Options holds the scenario fields (rooms, participants, simulcast, layer, layout, duration, join
	// rate); the caller adds the server's URL.
	Options Options
}

// Presets returns the scenarios, each a fresh copy.
func Presets() []Preset {
	const d, rate = 20 * time.Second, 10
	return []Preset{
		{Name: "livestream", Description: "1 publisher (simulcast camera + microphone) watched by 30 subscribers",
			Options: Options{Rooms: 1, Publishers: 1, Subscribers: 30, Simulcast: true, Layout: LayoutNone, Duration: d, JoinRate: rate}},
		{Name: "meeting", Description: "6 publishers and 24 subscribers in one room, everyone on a 3x3 grid",
			Options: Options{Rooms: 1, Publishers: 6, Subscribers: 24, Simulcast: true, Layout: LayoutGrid, Duration: d, JoinRate: rate}},
		{Name: "classroom", Description: "a teacher's camera and screen share, 60 students receiving (3 of them with microphones)",
			Options: Options{Rooms: 1, Publishers: 1, ScreenShares: 1, AudioPublishers: 3, Subscribers: 57, Simulcast: true,
				Layout: LayoutSpeaker, Duration: d, JoinRate: rate}},
		{Name: "consultation", Description: "20 concurrent 1:1 rooms, both sides sending and receiving 720p",
			Options: Options{Rooms: 20, Publishers: 2, Simulcast: true, Layer: "f", Layout: LayoutSpeaker, Duration: d, JoinRate: rate}},
	}
}

// PresetOptions returns the named preset's options, with Name set.
func PresetOptions(name string) (Options, error) {
	var names []string
	for _, p := range Presets() {
		if p.Name == name {
			o := p.Options
			o.Name = p.Name
			return o, nil
		}
		names = append(names, p.Name)
	}
	return Options{}, fmt.Errorf("loadtest: no preset %q (have %s)", name, strings.Join(names, ", "))
}

// CameraLayers are the simulcast layers of a synthetic 720p camera, as a browser sends them and as
// `lk load-test` loads a server: q 320x180 150 kbps at 15 fps, h 640x360 600 kbps at 20 fps, f 1280x720
// 2 Mbps at 30 fps.
func CameraLayers() []media.LayerSpec {
	return []media.LayerSpec{
		{RID: "q", Width: 320, Height: 180, BitrateBps: 150_000, FPS: 15},
		{RID: "h", Width: 640, Height: 360, BitrateBps: 600_000, FPS: 20},
		{RID: "f", Width: 1280, Height: 720, BitrateBps: 2_000_000, FPS: 30},
	}
}

// ScreenSpec is a synthetic screen share: one high-resolution encoding at a low frame rate, whose
// keyframes (five times a frame) are large bursts, as a slide change is.
func ScreenSpec(keyframeInterval time.Duration) media.Spec {
	return media.Spec{BitrateBps: 1_000_000, FPS: 5, KeyframeInterval: keyframeInterval}
}
