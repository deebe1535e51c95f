package loadtest

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func validOptions() Options {
	return Options{URL: "ws://127.0.0.1:7880/ws", Rooms: 1, Publishers: 1, Subscribers: 2, Simulcast: true,
		Duration: 2 * time.Second, JoinRate: 10}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Options)
		wantErr string // "" = valid
	}{
		{"valid", func(*Options) {}, ""},
		{"localhost", func(o *Options) { o.URL = "ws://localhost:7880/ws" }, ""},
		{"ipv6 loopback", func(o *Options) { o.URL = "ws://[::1]:7880/ws" }, ""},
		{"metrics off", func(o *Options) { o.MetricsURL = "off" }, ""},
		{"not loopback", func(o *Options) { o.URL = "ws://10.0.0.1:7880/ws" }, "loopback"},
		{"http url", func(o *Options) { o.URL = "http://127.0.0.1:7880/ws" }, "want ws://"},
		{"remote metrics", func(o *Options) { o.MetricsURL = "http://example.com/metrics" }, "metrics url"},
		{"two nodes", func(o *Options) { o.URL = "ws://127.0.0.1:7880/ws, ws://127.0.0.1:7890/ws" }, ""},
		{"a node not on loopback", func(o *Options) { o.URL = "ws://127.0.0.1:7880/ws,ws://10.0.0.2:7880/ws" }, "loopback"},
		{"an empty node", func(o *Options) { o.URL = "ws://127.0.0.1:7880/ws," }, "want ws://"},
		{"metrics for one of two nodes", func(o *Options) {
			o.URL, o.MetricsURL = "ws://127.0.0.1:7880/ws,ws://127.0.0.1:7890/ws", "http://127.0.0.1:7880/metrics"
		}, "1 addresses for 2 nodes"},
		{"no rooms", func(o *Options) { o.Rooms = 0 }, "rooms 0"},
		{"nobody publishes", func(o *Options) { o.Publishers = 0 }, "at least one publisher"},
		{"alone", func(o *Options) { o.Subscribers = 0 }, "at least two participants"},
		{"audio-only room", func(o *Options) { o.Publishers, o.AudioPublishers = 0, 1 }, ""},
		{"more screens than publishers", func(o *Options) { o.ScreenShares = 2 }, "screen shares"},
		{"too many", func(o *Options) { o.Rooms, o.Subscribers = 100, 20 }, "at most"},
		{"bad layer", func(o *Options) { o.Layer = "x" }, "layer"},
		{"bad layout", func(o *Options) { o.Layout = "4x4" }, "layout"},
		{"join rate", func(o *Options) { o.JoinRate = 1000 }, "join rate"},
		{"short", func(o *Options) { o.Duration = time.Millisecond }, "duration"},
		{"long", func(o *Options) { o.Duration = 2 * time.Hour }, "duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := validOptions()
			tt.change(&o)
			err := o.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one about %q", err, tt.wantErr)
			}
		})
	}
}

func TestMetricsURLs(t *testing.T) {
	tests := []struct {
		name, url, metrics string
		want               []string
	}{
		{"derived", "ws://127.0.0.1:7880/ws", "", []string{"http://127.0.0.1:7880/metrics"}},
		{"off", "ws://127.0.0.1:7880/ws", "off", nil},
		{"derived per node", "ws://127.0.0.1:7880/ws,wss://[::1]:7890/ws", "",
			[]string{"http://127.0.0.1:7880/metrics", "https://[::1]:7890/metrics"}},
		{"given per node", "ws://127.0.0.1:7880/ws,ws://127.0.0.1:7890/ws", "http://127.0.0.1:9100/m, http://127.0.0.1:9200/m",
			[]string{"http://127.0.0.1:9100/m", "http://127.0.0.1:9200/m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := validOptions()
			o.URL, o.MetricsURL = tt.url, tt.metrics
			got, err := o.metricsURLs()
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("metricsURLs() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestPlanSpreadsNodes: with several nodes, each room's participants take them in turn and the rooms
// start on different nodes (so their owners are spread); with one node, everyone dials it.
func TestPlanSpreadsNodes(t *testing.T) {
	o := validOptions()
	o.Rooms, o.Publishers, o.Subscribers = 3, 1, 3
	for _, s := range plan(o) {
		if s.Node != 0 {
			t.Fatalf("one node: %s/%s planned on node %d", s.Room, s.Name, s.Node)
		}
	}
	o.URL = "ws://127.0.0.1:7880/ws,ws://127.0.0.1:7890/ws"
	perRoom := map[string][]int{}
	for _, s := range plan(o) {
		perRoom[s.Room] = append(perRoom[s.Room], s.Node)
	}
	want := map[string][]int{"-1": {0, 1, 0, 1}, "-2": {1, 0, 1, 0}, "-3": {0, 1, 0, 1}}
	for suffix, nodes := range want {
		room := o.RoomPrefix + suffix
		if !reflect.DeepEqual(perRoom[room], nodes) {
			t.Errorf("room %s: nodes in join order %v, want %v", room, perRoom[room], nodes)
		}
	}
}

// TestPresets: every preset is valid once it has a URL, and matches the description.
func TestPresetOptions(t *testing.T) {
	want := map[string][4]int{ // rooms, publishers, audio-only, subscribers
		"livestream": {1, 1, 0, 30}, "meeting": {1, 6, 0, 24}, "classroom": {1, 1, 3, 57}, "consultation": {20, 2, 0, 0},
	}
	for _, p := range Presets() {
		o, err := PresetOptions(p.Name)
		if err != nil {
			t.Fatal(err)
		}
		o.URL = "ws://127.0.0.1:1/ws"
		if err := o.Validate(); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
		if got := [4]int{o.Rooms, o.Publishers, o.AudioPublishers, o.Subscribers}; got != want[p.Name] {
			t.Errorf("%s: %v, want %v", p.Name, got, want[p.Name])
		}
		if o.Name != p.Name || !o.Simulcast {
			t.Errorf("%s: name %q, simulcast %v", p.Name, o.Name, o.Simulcast)
		}
	}
	if _, err := PresetOptions("party"); err == nil {
		t.Error("no error for an unknown preset")
	}
	if l := CameraLayers(); l[0].BitrateBps != 150_000 || l[1].BitrateBps != 600_000 || l[2].BitrateBps != 2_000_000 ||
		l[0].FPS != 15 || l[1].FPS != 20 || l[2].FPS != 30 {
		t.Errorf("camera layers %+v", l)
	}
}

func TestScaled(t *testing.T) {
	get := func(name string) Options {
		o, _ := PresetOptions(name)
		return o
	}
	tests := []struct {
		name   string
		preset string
		f      float64
		want   [5]int // rooms, publishers, screens, audio-only, subscribers
	}{
		{"livestream tenth", "livestream", 0.1, [5]int{1, 1, 0, 0, 3}},
		{"meeting half", "meeting", 0.5, [5]int{1, 3, 0, 0, 12}},
		{"classroom tenth keeps the teacher and a microphone", "classroom", 0.1, [5]int{1, 1, 1, 1, 6}},
		{"consultation scales rooms, not their shape", "consultation", 0.1, [5]int{2, 2, 0, 0, 0}},
		{"one is no change", "meeting", 1, [5]int{1, 6, 0, 0, 24}},
		{"twice", "livestream", 2, [5]int{1, 2, 0, 0, 60}},
	}
	for _, tt := range tests {
		o := get(tt.preset).Scaled(tt.f)
		if got := [5]int{o.Rooms, o.Publishers, o.ScreenShares, o.AudioPublishers, o.Subscribers}; got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestPlan: publishers join first, the plan is the same for the same seed, and every participant is in.
func TestPlan(t *testing.T) {
	o := Options{Rooms: 2, Publishers: 2, ScreenShares: 1, AudioPublishers: 1, Subscribers: 3, Seed: 5, RoomPrefix: "r"}
	p := plan(o)
	if len(p) != o.Participants() {
		t.Fatalf("%d planned, want %d", len(p), o.Participants())
	}
	for i, s := range p {
		switch {
		case i < 4:
			if s.Role != RolePublisher || !s.Camera || !s.Mic || s.Screen != (s.Name == "pub1") {
				t.Errorf("%d: %+v", i, s)
			}
		case i < 6:
			if s.Role != RoleAudio || s.Camera || !s.Mic || s.Screen {
				t.Errorf("%d: %+v", i, s)
			}
		default:
			if s.Role != RoleSubscriber || s.Camera || s.Mic {
				t.Errorf("%d: %+v", i, s)
			}
		}
		if s.Room != "r-1" && s.Room != "r-2" || s.StartOffset < 0 || s.StartOffset >= time.Second/30 {
			t.Errorf("%d: room %q offset %v", i, s.Room, s.StartOffset)
		}
	}
	if !reflect.DeepEqual(p, plan(o)) {
		t.Error("the same seed planned differently")
	}
	o.Seed = 6
	if reflect.DeepEqual(p, plan(o)) {
		t.Error("another seed planned the same")
	}
}
