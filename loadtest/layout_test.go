package loadtest

import (
	"reflect"
	"testing"

	"github.com/huddlehq/huddle/signaling/protocol"
)

func cam(id string) protocol.Track {
	return protocol.Track{ID: id, Kind: "video", Source: "camera", ParticipantID: "P" + id}
}

func TestSettingsFor(t *testing.T) {
	screen := protocol.Track{ID: "S", Kind: "video", Source: "screen", ParticipantID: "PS"}
	thumb := func(id, layer string) protocol.TrackSettings {
		return protocol.TrackSettings{TrackID: id, MaxLayer: layer, Width: thumbWidth, Height: thumbHeight, Priority: protocol.PriorityLow}
	}
	main := func(id, layer string) protocol.TrackSettings {
		return protocol.TrackSettings{TrackID: id, MaxLayer: layer, Width: mainWidth, Height: mainHeight, Priority: protocol.PriorityHigh}
	}
	tile := func(id string) protocol.TrackSettings {
		return protocol.TrackSettings{TrackID: id, Width: gridWidth, Height: gridHeight, Priority: protocol.PriorityNormal}
	}
	var ten []protocol.Track
	var tenWant []protocol.TrackSettings
	for i := range 10 {
		id := string(rune('a' + i))
		ten = append(ten, cam(id))
		if i < gridTiles {
			tenWant = append(tenWant, tile(id))
		} else {
			tenWant = append(tenWant, protocol.TrackSettings{TrackID: id, Paused: true})
		}
	}
	tests := []struct {
		name   string
		layout Layout
		layer  string
		videos []protocol.Track
		want   []protocol.TrackSettings
	}{
		{"none: nothing to say", LayoutNone, "", []protocol.Track{cam("a")}, nil},
		{"none with a layer caps every video", LayoutNone, "q", []protocol.Track{cam("a"), cam("b")},
			[]protocol.TrackSettings{{TrackID: "a", MaxLayer: "q"}, {TrackID: "b", MaxLayer: "q"}}},
		{"speaker: the first camera is main", LayoutSpeaker, "", []protocol.Track{cam("a"), cam("b")},
			[]protocol.TrackSettings{main("a", ""), thumb("b", "")}},
		{"speaker: a screen share is main", LayoutSpeaker, "f", []protocol.Track{cam("a"), screen},
			[]protocol.TrackSettings{thumb("a", "f"), main("S", "f")}},
		{"grid: nine tiles, the rest paused", LayoutGrid, "", ten, tenWant},
		{"no videos", LayoutGrid, "", nil, []protocol.TrackSettings{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := settingsFor(tt.layout, tt.layer, tt.videos)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			for _, s := range got {
				if err := s.Validate(); err != nil {
					t.Errorf("%+v: %v", s, err)
				}
			}
		})
	}
}

// TestLayoutState: settings are sent once, and again only when they change (a screen share takes the
// main tile; a track leaves); the receiver's own tracks and audio are not on its screen.
func TestLayoutState(t *testing.T) {
	l := newLayoutState(LayoutSpeaker, "", "Pme")
	own := protocol.Track{ID: "mine", Kind: "video", Source: "camera", ParticipantID: "Pme"}
	audio := protocol.Track{ID: "mic", Kind: "audio", Source: "microphone", ParticipantID: "Pa"}
	if got := l.add(own, audio, cam("a")); len(got) != 1 || got[0].TrackID != "a" || got[0].Priority != protocol.PriorityHigh {
		t.Fatalf("first camera: %+v", got)
	}
	if got := l.add(cam("a")); len(got) != 0 {
		t.Fatalf("the same track again: %+v", got)
	}
	got := l.add(protocol.Track{ID: "S", Kind: "video", Source: "screen", ParticipantID: "PS"})
	if len(got) != 2 || got[0].TrackID != "a" || got[0].Priority != protocol.PriorityLow || got[1].TrackID != "S" {
		t.Fatalf("screen share arrives: %+v", got)
	}
	if got := l.remove("S"); len(got) != 1 || got[0].TrackID != "a" || got[0].Priority != protocol.PriorityHigh {
		t.Fatalf("screen share leaves: %+v", got)
	}
	g := newLayoutState(LayoutGrid, "", "Pme")
	var tracks []protocol.Track
	for i := range 10 {
		tracks = append(tracks, cam(string(rune('a'+i))))
	}
	g.add(tracks...)
	if !g.paused("j") || g.paused("a") {
		t.Errorf("paused j %v, a %v", g.paused("j"), g.paused("a"))
	}
	if got := g.remove("a"); len(got) != 1 || got[0].TrackID != "j" || got[0].Paused {
		t.Errorf("a tile frees up: %+v", got)
	}
}
