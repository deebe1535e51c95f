package loadtest

import (
	"github.com/huddlehq/huddle/signaling/protocol"
)

// Tile sizes the layouts render at, in device pixels.
const (
	mainWidth, mainHeight   = 1280, 720
	thumbWidth, thumbHeight = 320, 180
	gridWidth, gridHeight   = 426, 240
	gridTiles               = 9
)

// layoutState is one receiver's screen: the other participants' video tracks in the order they
// appeared, and the settings last sent for each. It belongs to the receiver's event goroutine.
type layoutState struct {
	layout Layout
	layer  string // Options.Layer, a cap on every video
	self   string // the receiver's participant id: its own tracks are not on its screen
	videos []protocol.Track
	sent   map[string]protocol.TrackSettings
}

func newLayoutState(layout Layout, layer, self string) *layoutState {
	return &layoutState{layout: layout, layer: layer, self: self, sent: make(map[string]protocol.TrackSettings)}
}

// add puts tracks on the screen and returns the settings that changed.
func (l *layoutState) add(tracks ...protocol.Track) []protocol.TrackSettings {
	for _, t := range tracks {
		if t.Kind != "video" || t.ParticipantID == l.self || l.has(t.ID) {
			continue
		}
		l.videos = append(l.videos, t)
	}
	return l.update()
}

// remove takes a track off the screen and returns the settings that changed for the others.
func (l *layoutState) remove(trackID string) []protocol.TrackSettings {
	for i, t := range l.videos {
		if t.ID == trackID {
			l.videos = append(l.videos[:i], l.videos[i+1:]...)
			break
		}
	}
	delete(l.sent, trackID)
	return l.update()
}

func (l *layoutState) has(id string) bool {
	for _, t := range l.videos {
		if t.ID == id {
			return true
		}
	}
	return false
}

// paused reports whether the layout keeps a track paused (so the receiver is not expected to get it).
func (l *layoutState) paused(trackID string) bool { return l.sent[trackID].Paused }

func (l *layoutState) update() []protocol.TrackSettings {
	var changed []protocol.TrackSettings
	for _, s := range settingsFor(l.layout, l.layer, l.videos) {
		if prev, ok := l.sent[s.TrackID]; ok && prev == s {
			continue
		}
		l.sent[s.TrackID] = s
		changed = append(changed, s)
	}
	return changed
}

// settingsFor is what a receiver showing videos (in order of appearance) in layout asks of each, with
// every video capped at layer. Videos that need no settings are left out.
func settingsFor(layout Layout, layer string, videos []protocol.Track) []protocol.TrackSettings {
	out := make([]protocol.TrackSettings, 0, len(videos))
	switch layout {
	case LayoutSpeaker:
		main := -1
		for i, t := range videos {
			if t.Source == "screen" {
				main = i
				break
			}
		}
		if main < 0 && len(videos) > 0 {
			main = 0
		}
		for i, t := range videos {
			s := protocol.TrackSettings{TrackID: t.ID, MaxLayer: layer, Width: thumbWidth, Height: thumbHeight, Priority: protocol.PriorityLow}
			if i == main {
				s.Width, s.Height, s.Priority = mainWidth, mainHeight, protocol.PriorityHigh
			}
			out = append(out, s)
		}
	case LayoutGrid:
		for i, t := range videos {
			s := protocol.TrackSettings{TrackID: t.ID, MaxLayer: layer, Width: gridWidth, Height: gridHeight, Priority: protocol.PriorityNormal}
			if i >= gridTiles {
				s = protocol.TrackSettings{TrackID: t.ID, Paused: true}
			}
			out = append(out, s)
		}
	default:
		if layer == "" {
			return nil
		}
		for _, t := range videos {
			out = append(out, protocol.TrackSettings{TrackID: t.ID, MaxLayer: layer})
		}
	}
	return out
}
