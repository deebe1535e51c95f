package client

import (
	"errors"
	"testing"

	"github.com/huddlehq/huddle/signaling/protocol"
)

func TestRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{protocol.Errorf(protocol.CodeRoomMoved, "moved"), true},
		{protocol.Errorf(protocol.CodeClusterUnavailable, "redis down"), true},
		{protocol.Errorf(protocol.CodeMediaFailed, "ice"), true},
		{errors.New("dial tcp: connection refused"), true},
		{protocol.Errorf(protocol.CodeBanned, "banned"), false},
		{protocol.Errorf(protocol.CodeTokenExpired, "expired"), false},
		{protocol.Errorf(protocol.CodeRoomClosed, "ended"), false},
		{protocol.Errorf(protocol.CodeLobbyDeclined, "no"), false},
		{ErrInLobby, false},
		{nil, false},
	}
	for _, tc := range tests {
		if got := Retryable(tc.err); got != tc.want {
			t.Errorf("Retryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
