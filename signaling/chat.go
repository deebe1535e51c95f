package signaling

import (
	"time"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// chatTimeFormat is RFC 3339 in UTC with milliseconds, so that clients order messages of one second.
const chatTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// handleChat sends a chat message to every member, the sender included, under the room's lock: everyone
// sees messages, joins and leaves in one order. It needs the chat grant and, while the room's chat is
// off, the moderate grant. Observers are hidden: a message would reveal them.
func (s *Session) handleChat(env protocol.Envelope) *protocol.Error {
	var req protocol.ChatSend
	if perr := protocol.DecodeData(env, &req); perr != nil {
		return perr
	}
	grants := s.grants()
	if !grants.Chat {
		return insufficient("you may not chat")
	}
	if s.hidden {
		return insufficient("observers cannot chat")
	}
	msg := protocol.ChatMessage{From: s.participantID, Name: s.name, Text: req.Text, At: time.Now().UTC().Format(chatTimeFormat)}
	r := s.room
	r.mu.Lock()
	if r.chatOff && !grants.Moderate {
		r.mu.Unlock()
		return protocol.Errorf(protocol.CodeChatDisabled, "the host turned the chat off")
	}
	encoded := encodeOrLog(s.log, protocol.TypeChat, "", msg)
	for _, m := range r.members {
		m.enqueue(encoded)
	}
	r.mu.Unlock()
	s.reply(protocol.TypeAck, env.ID, struct{}{})
	return nil
}
