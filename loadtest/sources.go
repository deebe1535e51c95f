package loadtest

import (
	"context"
	"fmt"

	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/loadtest/media"
	"github.com/huddlehq/huddle/signaling/client"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// Audio levels the synthetic microphones report (-dBov): publishers talk, audio-only participants (the
// students with microphones) sit quietly, so the active speaker is the one a real room would have.
const (
	talkingLevel = 30
	quietLevel   = 70
)

// clips are the real media files replayed instead of synthetic sources, loaded once per run and shared.
type clips struct {
	video, audio *media.Clip
}

func loadClips(o Options) (clips, error) {
	var c clips
	var err error
	if o.VideoFile != "" {
		if c.video, err = media.LoadClip(o.VideoFile); err != nil {
			return c, fmt.Errorf("loadtest: video file: %w", err)
		}
		if c.video.Kind().String() != "video" {
			return c, fmt.Errorf("loadtest: video file %s holds audio", o.VideoFile)
		}
	}
	if o.AudioFile != "" {
		if c.audio, err = media.LoadClip(o.AudioFile); err != nil {
			return c, fmt.Errorf("loadtest: audio file: %w", err)
		}
		if c.audio.Kind().String() != "audio" {
			return c, fmt.Errorf("loadtest: audio file %s holds video", o.AudioFile)
		}
	}
	return c, nil
}

// pacing is how synthetic video goes on the wire: paced like a browser unless asked otherwise.
func pacing(o Options) media.Pacing {
	if o.Unpaced {
		return media.Pacing{}
	}
	return media.BrowserPacing()
}

// outgoing is what one participant publishes: the tracks to negotiate and, once they are, the loops
// that send them.
type outgoing struct {
	tracks []client.LocalTrack
	runs   []func(context.Context) error
}

// newOutgoing builds a participant's sources: a microphone, a camera and a screen share as its spec
// says, synthetic or replayed.
func newOutgoing(o Options, c clips, spec participantSpec) (*outgoing, error) {
	out := &outgoing{}
	stream := spec.Name
	if spec.Mic {
		level := uint8(talkingLevel)
		voice := true
		if !spec.Camera {
			level, voice = quietLevel, false
		}
		if err := out.addMic(c, stream, level, voice); err != nil {
			return nil, err
		}
	}
	if spec.Camera {
		if err := out.addCamera(o, c, stream); err != nil {
			return nil, err
		}
	}
	if spec.Screen {
		screen, err := media.NewVP8("screen", stream+"-screen", ScreenSpec(o.KeyframeInterval))
		if err != nil {
			return nil, fmt.Errorf("loadtest: screen: %w", err)
		}
		screen.SetPacing(pacing(o))
		out.tracks = append(out.tracks, client.LocalTrack{Track: screen.Track(), Source: "screen", OnKeyframeRequest: screen.RequestKeyframe})
		out.runs = append(out.runs, screen.Run)
	}
	return out, nil
}

func (out *outgoing) addMic(c clips, stream string, level uint8, voice bool) error {
	var (
		src interface {
			Track() *webrtc.TrackLocalStaticRTP
			SetAudioLevel(dBov uint8, voice bool)
			SetAudioLevelExtensionID(id uint8)
			Run(ctx context.Context) error
		}
		err error
	)
	if c.audio != nil {
		src, err = media.NewReplay(c.audio, "audio", stream)
	} else {
		src, err = media.NewOpus("audio", stream)
	}
	if err != nil {
		return fmt.Errorf("loadtest: microphone: %w", err)
	}
	src.SetAudioLevel(level, voice)
	out.tracks = append(out.tracks, client.LocalTrack{Track: src.Track(), Source: "microphone",
		OnHeaderExtensions: func(ids map[string]uint8) { src.SetAudioLevelExtensionID(ids[client.AudioLevelURI]) }})
	out.runs = append(out.runs, src.Run)
	return nil
}

func (out *outgoing) addCamera(o Options, c clips, stream string) error {
	switch {
	case c.video != nil:
		r, err := media.NewReplay(c.video, "video", stream)
		if err != nil {
			return fmt.Errorf("loadtest: camera: %w", err)
		}
		out.tracks = append(out.tracks, client.LocalTrack{Track: r.Track(), Source: "camera", OnKeyframeRequest: r.RequestKeyframe})
		out.runs = append(out.runs, r.Run)
	case o.Simulcast:
		specs := CameraLayers()
		sim, err := media.NewSimulcast("video", stream, specs, o.KeyframeInterval)
		if err != nil {
			return fmt.Errorf("loadtest: camera: %w", err)
		}
		sim.SetPacing(pacing(o))
		layers := make([]client.LocalLayer, len(specs))
		for i, tr := range sim.Tracks() {
			s := specs[i]
			layers[i] = client.LocalLayer{Track: tr, Spec: protocol.Layer{RID: s.RID, Width: s.Width, Height: s.Height, MaxBitrate: s.BitrateBps}}
		}
		out.tracks = append(out.tracks, client.LocalTrack{Layers: layers, Source: "camera",
			OnLayerKeyframeRequest: sim.RequestKeyframe, OnLayerActive: sim.SetLayerActive})
		out.runs = append(out.runs, sim.Run)
	default:
		top := CameraLayers()[2]
		s, err := media.NewVP8("video", stream, media.Spec{BitrateBps: top.BitrateBps, FPS: top.FPS, KeyframeInterval: o.KeyframeInterval})
		if err != nil {
			return fmt.Errorf("loadtest: camera: %w", err)
		}
		s.SetPacing(pacing(o))
		out.tracks = append(out.tracks, client.LocalTrack{Track: s.Track(), Source: "camera", OnKeyframeRequest: s.RequestKeyframe})
		out.runs = append(out.runs, s.Run)
	}
	return nil
}
