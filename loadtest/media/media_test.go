package media

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/sfu/codec"
)

var opusParams = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}

func TestAudioLevelExtension(t *testing.T) {
	src, err := NewOpus("audio", "stream")
	if err != nil {
		t.Fatal(err)
	}
	c := bind(t, src.Track(), opusParams)
	// runFor sends a few packets and returns them.
	runFor := func() []rtp.Packet {
		before := len(c.packets())
		runUntil(t, src.Run, func() bool { return c.count() > before })
		pkts := c.packets()[before:]
		if len(pkts) == 0 {
			t.Fatal("no audio packets")
		}
		return pkts
	}
	tests := []struct {
		name      string
		setup     func()
		id        uint8 // 0: no extension expected
		level     uint8
		voice     bool
		twoByteID bool
	}{
		{"no id yet", func() {}, 0, 0, false, false},
		{"default level once the id is set", func() { src.SetAudioLevelExtensionID(3) }, 3, DefaultAudioLevel, true, false},
		{"silence", func() { src.SetAudioLevel(127, false) }, 3, 127, false, false},
		{"clamped", func() { src.SetAudioLevel(200, true) }, 3, 127, true, false},
		{"loud on another id", func() { src.SetAudioLevel(0, true); src.SetAudioLevelExtensionID(5) }, 5, 0, true, false},
		{"two-byte id", func() { src.SetAudioLevelExtensionID(20) }, 20, 0, true, true},
		{"id cleared", func() { src.SetAudioLevelExtensionID(0) }, 0, 0, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup()
			for _, p := range runFor() {
				if _, ok := SentAt(codec.KindOther, p.Payload); !ok {
					t.Error("audio packet without a send stamp")
				}
				ids := p.Header.GetExtensionIDs()
				if tc.id == 0 {
					if p.Header.Extension || len(ids) != 0 {
						t.Fatalf("extensions %v without an id set", ids)
					}
					continue
				}
				if len(ids) != 1 || ids[0] != tc.id {
					t.Fatalf("extension ids %v, want [%d]", ids, tc.id)
				}
				var lvl rtp.AudioLevelExtension
				if err := lvl.Unmarshal(p.Header.GetExtension(tc.id)); err != nil {
					t.Fatal(err)
				}
				if lvl.Level != tc.level || lvl.Voice != tc.voice {
					t.Fatalf("level %d voice %v, want %d %v", lvl.Level, lvl.Voice, tc.level, tc.voice)
				}
				// The packet must survive marshalling, as pion will marshal it.
				raw, err := p.Marshal()
				if err != nil {
					t.Fatalf("marshal: %v", err)
				}
				var back rtp.Packet
				if err := back.Unmarshal(raw); err != nil || back.Header.GetExtension(tc.id) == nil {
					t.Fatalf("extension lost in marshalling: %v", err)
				}
				if twoByte := p.Header.ExtensionProfile == rtp.ExtensionProfileTwoByte; twoByte != tc.twoByteID {
					t.Errorf("profile %#x", p.Header.ExtensionProfile)
				}
			}
		})
	}
}
