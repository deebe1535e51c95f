// Package signaling is the control plane: one Session per WebSocket speaking the JSON protocol of
// PROTOCOL.md, rooms of sessions (membership and names), and the translation between protocol messages
// and the media plane, which it drives through the small Media interface (package sfu implements it).
//
// # Locking rules
//
//   - Server.mu guards the room and session maps. room.mu guards one room's members; it is held while
//     joining the media plane so that every member learns of joins and leaves in the same order.
//     Lock order: Server.mu → room.mu → (media plane locks); only dropping an empty room takes both.
//   - A Session has exactly two goroutines: its reader (the HTTP handler's goroutine, which also handles
//     every message, so one session's requests are processed in order) and its writer. Everything else —
//     other sessions, the media plane's callbacks — only ever calls Session.enqueue, which never blocks: a
//     session whose queue is full is closed rather than allowed to stall a room.
//   - The reader owns the session's join state (room, participant, media); no other goroutine touches it.
package signaling
