package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodeEnvelope(t *testing.T) {
	tests := []struct {
		name     string
		frame    string
		wantType string
		wantCode string
	}{
		{"ping", `{"type":"ping"}`, "ping", ""},
		{"with id and data", `{"type":"join","id":"1","data":{"room":"r","name":"n"}}`, "join", ""},
		{"unknown fields ignored", `{"type":"ping","extra":1}`, "ping", ""},
		{"malformed", `{"type":`, "", CodeBadJSON},
		{"array", `[]`, "", CodeBadJSON},
		{"string", `"join"`, "", CodeBadJSON},
		{"type of wrong kind", `{"type":7}`, "", CodeBadJSON},
		{"no type", `{"id":"1"}`, "", CodeBadRequest},
		{"long id", `{"type":"ping","id":"` + strings.Repeat("i", 65) + `"}`, "", CodeBadRequest},
		{"too large", `{"type":"ping","x":"` + strings.Repeat("x", MaxMessageSize) + `"}`, "", CodeMessageTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := DecodeEnvelope([]byte(tt.frame))
			if tt.wantCode != "" {
				if err == nil || err.Code != tt.wantCode || err.Message == "" {
					t.Fatalf("want %s error, got %v", tt.wantCode, err)
				}
				return
			}
			if err != nil || env.Type != tt.wantType {
				t.Fatalf("got %+v, %v", env, err)
			}
		})
	}
}

func TestDecodeData(t *testing.T) {
	tests := []struct {
		name     string
		frame    string
		into     any
		wantCode string
	}{
		{"join ok", `{"type":"join","data":{"room":"ward-7","name":" Dr Ada "}}`, &Join{}, ""},
		{"join no data", `{"type":"join"}`, &Join{}, CodeBadRequest},
		{"join null data", `{"type":"join","data":null}`, &Join{}, CodeBadRequest},
		{"join no room", `{"type":"join","data":{"name":"a"}}`, &Join{}, CodeBadRequest},
		{"join bad room", `{"type":"join","data":{"room":"a b","name":"a"}}`, &Join{}, CodeBadRequest},
		{"join blank name", `{"type":"join","data":{"room":"r","name":"   "}}`, &Join{}, CodeBadRequest},
		{"join long name", `{"type":"join","data":{"room":"r","name":"` + strings.Repeat("é", 65) + `"}}`, &Join{}, CodeBadRequest},
		{"join wrong type", `{"type":"join","data":{"room":5,"name":"a"}}`, &Join{}, CodeBadRequest},
		{"join with a token and no name", `{"type":"join","data":{"room":"r","token":"a.b.c"}}`, &Join{}, ""},
		{"join with neither token nor name", `{"type":"join","data":{"room":"r","name":" "}}`, &Join{}, CodeBadRequest},
		{"join with a huge token", `{"type":"join","data":{"room":"r","token":"` + strings.Repeat("t", MaxTokenLength+1) + `"}}`, &Join{}, CodeBadRequest},
		{"remove ok", `{"type":"remove_participant","data":{"participantId":"P1","ban":true}}`, &RemoveParticipant{}, ""},
		{"remove nobody", `{"type":"remove_participant","data":{"ban":true}}`, &RemoveParticipant{}, CodeBadRequest},
		{"offer ok", `{"type":"publish_offer","data":{"sdp":"v=0","tracks":[{"mid":"0","source":"camera"}]}}`, &PublishOffer{}, ""},
		{"offer no sdp", `{"type":"publish_offer","data":{}}`, &PublishOffer{}, CodeBadRequest},
		{"offer bad source", `{"type":"publish_offer","data":{"sdp":"v=0","tracks":[{"mid":"0","source":"tv"}]}}`, &PublishOffer{}, CodeBadRequest},
		{"offer no mid", `{"type":"publish_offer","data":{"sdp":"v=0","tracks":[{"source":"camera"}]}}`, &PublishOffer{}, CodeBadRequest},
		{"candidate ok", `{"type":"ice_candidate","data":{"target":"publish","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}}}`, &ICECandidate{}, ""},
		{"candidate bad target", `{"type":"ice_candidate","data":{"target":"x","candidate":{}}}`, &ICECandidate{}, CodeBadRequest},
		{"candidate missing", `{"type":"ice_candidate","data":{"target":"publish"}}`, &ICECandidate{}, CodeBadRequest},
		{"mute no track", `{"type":"mute","data":{"muted":true}}`, &Mute{}, CodeBadRequest},
		{"unpublish no track", `{"type":"unpublish","data":{}}`, &TrackRef{}, CodeBadRequest},
		{"offer with layers", `{"type":"publish_offer","data":{"sdp":"v=0","tracks":[{"mid":"0","source":"camera","layers":[{"rid":"q","width":320,"height":180,"maxBitrate":150000},{"rid":"f"}]}]}}`, &PublishOffer{}, ""},
		{"offer with 5 layers", `{"type":"publish_offer","data":{"sdp":"v=0","tracks":[{"mid":"0","source":"camera","layers":[{"rid":"a"},{"rid":"b"},{"rid":"c"},{"rid":"d"},{"rid":"e"}]}]}}`, &PublishOffer{}, CodeBadRequest},
		{"offer layer without rid", `{"type":"publish_offer","data":{"sdp":"v=0","tracks":[{"mid":"0","source":"camera","layers":[{"width":3}]}]}}`, &PublishOffer{}, CodeBadRequest},
		{"settings ok", `{"type":"track_settings","data":{"trackId":"TR_x","maxLayer":"h","width":640,"height":360,"priority":"low","paused":true}}`, &TrackSettings{}, ""},
		{"settings no track", `{"type":"track_settings","data":{"maxLayer":"h"}}`, &TrackSettings{}, CodeBadRequest},
		{"settings bad priority", `{"type":"track_settings","data":{"trackId":"TR_x","priority":"vip"}}`, &TrackSettings{}, CodeBadRequest},
		{"settings huge size", `{"type":"track_settings","data":{"trackId":"TR_x","width":100000}}`, &TrackSettings{}, CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, perr := DecodeEnvelope([]byte(tt.frame))
			if perr != nil {
				t.Fatal(perr)
			}
			err := DecodeData(env, tt.into)
			if tt.wantCode == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tt.wantCode != "" && (err == nil || err.Code != tt.wantCode) {
				t.Fatalf("want %s, got %v", tt.wantCode, err)
			}
		})
	}
	var j Join
	env, _ := DecodeEnvelope([]byte(`{"type":"join","data":{"room":"r","name":"  Dr Ada "}}`))
	if err := DecodeData(env, &j); err != nil || j.Name != "Dr Ada" {
		t.Fatalf("name not trimmed: %q %v", j.Name, err)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	msg, err := Encode(TypeTrackPublished, "", TrackEvent{Track: Track{ID: "TR_1", ParticipantID: "P1", Kind: "video", Source: "camera"}})
	if err != nil {
		t.Fatal(err)
	}
	env, perr := DecodeEnvelope(msg)
	if perr != nil || env.Type != TypeTrackPublished {
		t.Fatalf("round trip: %+v %v", env, perr)
	}
	var ev TrackEvent
	if err := json.Unmarshal(env.Data, &ev); err != nil || ev.Track.ID != "TR_1" || ev.Track.Source != "camera" {
		t.Fatalf("round trip data: %+v %v", ev, err)
	}
}

// FuzzDecode feeds arbitrary frames through the server's decoding of every client message type: it must
// never panic, and every rejection must carry a known code and a message.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		`{"type":"join","id":"1","data":{"room":"r","name":"n","version":1}}`,
		`{"type":"publish_offer","data":{"sdp":"v=0","tracks":[{"mid":"0","source":"camera"}]}}`,
		`{"type":"subscribe_answer","data":{"sdp":"v=0"}}`,
		`{"type":"ice_candidate","data":{"target":"subscribe","candidate":{"candidate":"c","sdpMid":"0","sdpMLineIndex":0}}}`,
		`{"type":"mute","data":{"trackId":"TR_x","muted":true}}`,
		`{"type":"unpublish","data":{"trackId":"TR_x"}}`,
		`{"type":"leave"}`, `{"type":"ping"}`, `{`, `[]`, `null`, `{"type":"join","data":"x"}`,
		`{"type":"join","data":{"room":"r","token":"eyJhbGciOiJIUzI1NiJ9.e30.x"}}`,
		`{"type":"remove_participant","id":"9","data":{"participantId":"PABC","ban":true}}`,
		`{"type":"mute_participant","data":{"trackId":"TR_x","muted":true}}`,
		`{"type":"track_settings","data":{"trackId":"TR_x","paused":false,"maxLayer":"h","width":640,"height":360,"priority":"high"}}`,
		`{"type":"publish_offer","data":{"sdp":"v=0","tracks":[{"mid":"1","source":"camera","layers":[{"rid":"q","width":320,"height":180,"maxBitrate":150000}]}]}}`,
		`{"type":"chat","id":"3","data":{"text":"  hello, class  "}}`,
		`{"type":"chat","data":{"text":""}}`,
		`{"type":"raise_hand","data":{"raised":true}}`,
		`{"type":"raise_hand","data":{}}`,
		`{"type":"lower_hand","data":{"participantId":"PABCDEFGHIJ"}}`,
		`{"type":"set_grants","data":{"participantId":"PABC","publish":["microphone","camera"]}}`,
		`{"type":"set_grants","data":{"participantId":"PABC","publish":["tv","tv"]}}`,
		`{"type":"mute_all","data":{"kinds":["audio","video"]}}`,
		`{"type":"mute_all","data":{}}`,
		`{"type":"spotlight","data":{"participantId":""}}`,
		`{"type":"room_settings","data":{"chatEnabled":false,"locked":true}}`,
		`{"type":"admit","data":{"participantId":"PABC"}}`,
		`{"type":"decline","data":{"participantId":"PABC"}}`,
		`{"type":"end_room","data":{}}`,
		`{"type":"end_room"}`,
		`{"type":"preflight","id":"p","data":{"room":"consult-42","token":"eyJ"}}`,
		`{"type":"preflight","data":{"room":"bad room"}}`,
		`{"type":"check_offer","id":"c1","data":{"path":"udp","sdp":"v=0"}}`,
		`{"type":"check_offer","data":{"path":"sctp","sdp":""}}`,
		`{"type":"create_invite","id":"i1","data":{"role":"attendee","ttlSeconds":3600,"name":"  Pat  "}}`,
		`{"type":"create_invite","data":{"role":"host","ttlSeconds":0}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	known := map[string]bool{CodeBadJSON: true, CodeBadRequest: true, CodeMessageTooLarge: true}
	f.Fuzz(func(t *testing.T, frame []byte) {
		env, perr := DecodeEnvelope(frame)
		if perr != nil {
			if !known[perr.Code] || perr.Message == "" {
				t.Fatalf("envelope rejection without a known code: %+v", perr)
			}
			return
		}
		targets := map[string]any{
			TypeJoin: &Join{}, TypePublishOffer: &PublishOffer{}, TypeSubscribeAnswer: &SDP{},
			TypeICECandidate: &ICECandidate{}, TypeMute: &Mute{}, TypeUnpublish: &TrackRef{},
			TypeTrackSettings: &TrackSettings{}, TypeRemoveParticipant: &RemoveParticipant{}, TypeMuteParticipant: &Mute{},
			TypeChat: &ChatSend{}, TypeRaiseHand: &RaiseHand{}, TypeLowerHand: &ParticipantRef{}, TypeSetGrants: &SetGrants{},
			TypeMuteAll: &MuteAll{}, TypeSpotlight: &Spotlight{}, TypeRoomSettings: &RoomSettings{},
			TypeAdmit: &ParticipantRef{}, TypeDecline: &ParticipantRef{},
			TypePreflight: &Preflight{}, TypeCheckOffer: &CheckOffer{}, TypeCreateInvite: &CreateInvite{},
		}
		for _, v := range targets {
			if err := DecodeData(env, v); err != nil && (err.Code != CodeBadRequest || err.Message == "") {
				t.Fatalf("data rejection without bad_request: %+v", err)
			}
		}
	})
}
