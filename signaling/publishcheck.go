package signaling

import (
	"github.com/pion/sdp/v3"

	"github.com/huddlehq/huddle/sfu"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// publishSources checks a publish offer against the participant's grants and returns the source of
// every m-line to hand the media plane. The declared sources alone are not trusted: the offer's SDP is
// read, and every m-line that sends media must carry a source its kind allows (audio: microphone or
// screen_audio; video: camera or screen) and the grants allow. An m-line the client did not name keeps
// the source it had in an earlier offer, or gets its kind's default (microphone, camera) — the source
// the media plane would give it — and is checked as such. Nothing is changed when the offer is refused.
func (s *Session) publishSources(req protocol.PublishOffer, grants auth.Grants) ([]sfu.TrackSource, map[string]string, *protocol.Error) {
	var desc sdp.SessionDescription
	if err := desc.UnmarshalString(req.SDP); err != nil {
		return nil, nil, protocol.Errorf(protocol.CodeInvalidSDP, "publish offer: %v", err)
	}
	declared := make(map[string]protocol.TrackSource, len(req.Tracks))
	for _, t := range req.Tracks {
		declared[t.Mid] = t
	}
	sessionDir := direction(desc.Attributes, "sendrecv")
	sending := make(map[string]string) // mid → source, for the sending m-lines
	for i, md := range desc.MediaDescriptions {
		kind := md.MediaName.Media
		if kind != "audio" && kind != "video" {
			continue // a data channel or something the media plane ignores
		}
		if _, bundleOnly := md.Attribute("bundle-only"); md.MediaName.Port.Value == 0 && !bundleOnly {
			continue // rejected or stopped m-line
		}
		if dir := direction(md.Attributes, sessionDir); dir != "sendrecv" && dir != "sendonly" {
			continue
		}
		mid, _ := md.Attribute("mid")
		if mid == "" {
			return nil, nil, protocol.Errorf(protocol.CodeInvalidSDP, "publish offer: m-line %d has no a=mid", i)
		}
		source := declared[mid].Source
		if source == "" {
			source = s.midSource[mid]
		}
		if source == "" {
			source = auth.SourceMicrophone
			if kind == "video" {
				source = auth.SourceCamera
			}
		}
		if !sourceFitsKind(source, kind) {
			return nil, nil, protocol.Errorf(protocol.CodeBadRequest, "publish offer: m-line %s is %s but is declared %s", mid, kind, source)
		}
		if !grants.CanPublish(source) {
			if len(grants.Publish) == 0 {
				return nil, nil, insufficient("you may not publish (m-line %s is a %s)", mid, source)
			}
			return nil, nil, insufficient("you may not publish %s (m-line %s); you may publish %v", source, mid, grants.Publish)
		}
		sending[mid] = source
	}
	sources := make([]sfu.TrackSource, 0, len(req.Tracks)+len(sending))
	for _, t := range req.Tracks {
		sources = append(sources, sfu.TrackSource{Mid: t.Mid, Source: sfu.Source(t.Source), Layers: layerSpecs(t.Layers)})
	}
	for mid, source := range sending {
		if _, ok := declared[mid]; !ok {
			sources = append(sources, sfu.TrackSource{Mid: mid, Source: sfu.Source(source)})
		}
	}
	return sources, sending, nil
}

func sourceFitsKind(source, kind string) bool {
	switch source {
	case auth.SourceMicrophone, auth.SourceScreenAudio:
		return kind == "audio"
	case auth.SourceCamera, auth.SourceScreen:
		return kind == "video"
	}
	return false
}

// direction returns the direction attribute among attrs, or def.
func direction(attrs []sdp.Attribute, def string) string {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv", "sendonly", "recvonly", "inactive":
			return a.Key
		}
	}
	return def
}
