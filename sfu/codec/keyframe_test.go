package codec

import "testing"

func TestIsKeyframe(t *testing.T) {
	tests := []struct {
		name    string
		kind    Kind
		payload []byte
		want    bool
	}{
		{"vp8 keyframe, short descriptor", KindVP8, []byte{0x10, 0x00, 0x9d, 0x01, 0x2a}, true},
		{"vp8 delta frame", KindVP8, []byte{0x10, 0x01, 0x00}, false},
		{"vp8 continuation packet of a keyframe", KindVP8, []byte{0x00, 0x00}, false},
		{"vp8 keyframe with 15-bit picture id and tl0", KindVP8, []byte{0x90, 0xc0, 0x81, 0x23, 0x05, 0x00}, true},
		{"vp8 truncated extension", KindVP8, []byte{0x90, 0xc0, 0x81}, false},
		{"vp8 empty", KindVP8, nil, false},
		{"vp8 descriptor only", KindVP8, []byte{0x10}, false},
		{"h264 idr", KindH264, []byte{0x65, 0x88}, true},
		{"h264 sps", KindH264, []byte{0x67, 0x42}, true},
		{"h264 non-idr slice", KindH264, []byte{0x41, 0x9a}, false},
		{"h264 fu-a start of idr", KindH264, []byte{0x7c, 0x85, 0x00}, true},
		{"h264 fu-a middle of idr", KindH264, []byte{0x7c, 0x05, 0x00}, false},
		{"h264 stap-a with sps", KindH264, []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}, true},
		{"h264 stap-a bad size", KindH264, []byte{0x78, 0x00, 0x09, 0x67}, false},
		{"vp9 keyframe", KindVP9, []byte{0x08, 0x00}, true},
		{"vp9 inter frame", KindVP9, []byte{0x48, 0x00}, false},
		{"vp9 keyframe spatial layer 1", KindVP9, []byte{0xa8, 0x01, 0x02}, false},
		{"opus always starts", KindOther, []byte{0xfc}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsKeyframe(tt.kind, tt.payload); got != tt.want {
				t.Fatalf("IsKeyframe(%v, %x) = %v, want %v", tt.kind, tt.payload, got, tt.want)
			}
		})
	}
}

func TestParseVP8Descriptor(t *testing.T) {
	d, err := ParseVP8Descriptor([]byte{0x90, 0xe0, 0x81, 0x23, 0x05, 0x60, 0x00})
	if err != nil {
		t.Fatal(err)
	}
	want := VP8Descriptor{HeaderSize: 6, Start: true, HasPictureID: true, PictureID: 0x0123, PictureID16: true,
		HasTL0PICIDX: true, TL0PICIDX: 5, HasTID: true, TID: 1, Y: true}
	if d != want {
		t.Fatalf("got %+v\nwant %+v", d, want)
	}
}

func TestKindOf(t *testing.T) {
	for mime, want := range map[string]Kind{"video/VP8": KindVP8, "video/H264": KindH264, "video/vp9": KindVP9, "audio/opus": KindOther} {
		if got := KindOf(mime); got != want {
			t.Errorf("KindOf(%q) = %v, want %v", mime, got, want)
		}
	}
}

// FuzzIsKeyframe feeds arbitrary payloads to every codec's parser: none may panic, and a VP8 keyframe must
// always have a descriptor that parses.
func FuzzIsKeyframe(f *testing.F) {
	for _, seed := range [][]byte{{0x10, 0x00}, {0x90, 0xc0, 0x81, 0x23, 0x05, 0x00}, {0x7c, 0x85}, {0x78, 0x00, 0x02, 0x67, 0x42}, {0xa8, 0x81, 0x02}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, k := range []Kind{KindVP8, KindVP9, KindH264, KindOther} {
			key := IsKeyframe(k, payload)
			if k == KindVP8 && key {
				if _, err := ParseVP8Descriptor(payload); err != nil {
					t.Fatalf("keyframe with unparsable descriptor %x: %v", payload, err)
				}
			}
		}
	})
}
