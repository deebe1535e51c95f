package protocol

import (
	"strings"
	"testing"
)

// TestDecodeRoomMessages: every message of running a room is checked field by field; what is malformed
// is a bad_request whose message names the field.
func TestDecodeRoomMessages(t *testing.T) {
	long := strings.Repeat("é", MaxChatLength+1)
	tests := []struct {
		name     string
		frame    string
		into     any
		wantCode string
		wantIn   string // part of the error message
	}{
		{"chat ok", `{"type":"chat","data":{"text":" hi "}}`, &ChatSend{}, "", ""},
		{"chat at the limit", `{"type":"chat","data":{"text":"` + strings.Repeat("é", MaxChatLength) + `"}}`, &ChatSend{}, "", ""},
		{"chat empty", `{"type":"chat","data":{"text":""}}`, &ChatSend{}, CodeBadRequest, "text"},
		{"chat blank", `{"type":"chat","data":{"text":" \n\t "}}`, &ChatSend{}, CodeBadRequest, "text"},
		{"chat too long", `{"type":"chat","data":{"text":"` + long + `"}}`, &ChatSend{}, CodeBadRequest, "1000"},
		{"chat wrong type", `{"type":"chat","data":{"text":7}}`, &ChatSend{}, CodeBadRequest, "chat data"},
		{"chat no data", `{"type":"chat"}`, &ChatSend{}, CodeBadRequest, "needs data"},
		{"raise ok", `{"type":"raise_hand","data":{"raised":false}}`, &RaiseHand{}, "", ""},
		{"raise missing", `{"type":"raise_hand","data":{}}`, &RaiseHand{}, CodeBadRequest, "raised"},
		{"raise wrong type", `{"type":"raise_hand","data":{"raised":"yes"}}`, &RaiseHand{}, CodeBadRequest, "raise_hand data"},
		{"lower ok", `{"type":"lower_hand","data":{"participantId":"P1"}}`, &ParticipantRef{}, "", ""},
		{"lower nobody", `{"type":"lower_hand","data":{}}`, &ParticipantRef{}, CodeBadRequest, "participantId"},
		{"admit long id", `{"type":"admit","data":{"participantId":"` + strings.Repeat("P", 65) + `"}}`, &ParticipantRef{}, CodeBadRequest, "participantId"},
		{"grants ok", `{"type":"set_grants","data":{"participantId":"P1","publish":["microphone"]}}`, &SetGrants{}, "", ""},
		{"grants revoke all", `{"type":"set_grants","data":{"participantId":"P1","publish":[]}}`, &SetGrants{}, "", ""},
		{"grants publish missing", `{"type":"set_grants","data":{"participantId":"P1"}}`, &SetGrants{}, CodeBadRequest, "publish"},
		{"grants bad source", `{"type":"set_grants","data":{"participantId":"P1","publish":["tv"]}}`, &SetGrants{}, CodeBadRequest, `"tv"`},
		{"grants twice", `{"type":"set_grants","data":{"participantId":"P1","publish":["camera","camera"]}}`, &SetGrants{}, CodeBadRequest, "twice"},
		{"grants nobody", `{"type":"set_grants","data":{"publish":["camera"]}}`, &SetGrants{}, CodeBadRequest, "participantId"},
		{"mute all ok", `{"type":"mute_all","data":{"kinds":["video"]}}`, &MuteAll{}, "", ""},
		{"mute all bad kind", `{"type":"mute_all","data":{"kinds":["smell"]}}`, &MuteAll{}, CodeBadRequest, "smell"},
		{"spotlight clear", `{"type":"spotlight","data":{"participantId":""}}`, &Spotlight{}, "", ""},
		{"spotlight missing", `{"type":"spotlight","data":{}}`, &Spotlight{}, CodeBadRequest, "participantId"},
		{"settings ok", `{"type":"room_settings","data":{"locked":true}}`, &RoomSettings{}, "", ""},
		{"settings empty", `{"type":"room_settings","data":{}}`, &RoomSettings{}, CodeBadRequest, "chatEnabled"},
		{"settings wrong type", `{"type":"room_settings","data":{"locked":"yes"}}`, &RoomSettings{}, CodeBadRequest, "room_settings data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, perr := DecodeEnvelope([]byte(tt.frame))
			if perr != nil {
				t.Fatal(perr)
			}
			err := DecodeData(env, tt.into)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || err.Code != tt.wantCode || !strings.Contains(err.Message, tt.wantIn) {
				t.Fatalf("want %s mentioning %q, got %v", tt.wantCode, tt.wantIn, err)
			}
		})
	}

	// Decoding normalizes: the chat text is trimmed, mute_all defaults to audio.
	var chat ChatSend
	env, _ := DecodeEnvelope([]byte(`{"type":"chat","data":{"text":"  hello  "}}`))
	if err := DecodeData(env, &chat); err != nil || chat.Text != "hello" {
		t.Fatalf("chat not trimmed: %q %v", chat.Text, err)
	}
	var all MuteAll
	env, _ = DecodeEnvelope([]byte(`{"type":"mute_all","data":{}}`))
	if err := DecodeData(env, &all); err != nil || len(all.Kinds) != 1 || all.Kinds[0] != "audio" {
		t.Fatalf("mute_all default: %+v %v", all, err)
	}
}
