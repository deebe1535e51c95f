// Package signaling is the control plane: one Session per WebSocket speaking the JSON protocol of
// PROTOCOL.md, rooms of sessions (membership, names, roles, policy, bans), access control (join tokens
// checked at join, grants checked on every action: access.go, publishcheck.go), moderation and the admin
// API's view of the rooms (moderation.go, directory.go: Server implements admin.Directory), room events
// for webhooks, and the translation between protocol messages and the media plane, which it drives
// through the small Media interface (package sfu implements it).
//
// # Locking rules
//
//   - Server.mu guards the room and session maps. room.mu guards one room's members, policy, bans and
//     grants; it is held while joining the media plane so that every member learns of joins and leaves in
//     the same order, and while handing the room's events to the webhooks (which never block), so that
//     they keep that order. Lock order: Server.mu → room.mu → (media plane locks); dropping an empty room
//     and the admin's changes to a room (changeRoom) take both, so a room cannot be dropped under them.
//   - A Session has exactly two goroutines: its reader (the HTTP handler's goroutine, which also handles
//     every message, so one session's requests are processed in order) and its writer. Everything else —
//     other sessions, the admin API, the media plane's callbacks — only ever calls Session.enqueue, which
//     never blocks (a session whose queue is full is closed rather than allowed to stall a room), closeWith,
//     or the methods guarded by Session.state.mu.
//   - The reader owns the session's join state (room, media, published m-lines). The identity fields
//     (participant id, name, identity, role, room name) are written by the reader before the session
//     becomes a room member and never change after, so goroutines that find it through the room read them
//     freely.
//   - Session.state.mu guards what other goroutines change or read: grants, the moderator's mutes, the own
//     published tracks, a held subscribe offer, and a handle on the media participant for moderation. It
//     is a leaf: nothing is locked, enqueued or called while it is held.
//   - Moderation (a moderator's message, an admin's request) runs on the moderator's or admin's goroutine
//     and reaches the target's media through MediaParticipant.Block, Unpublish and Published, which the
//     media plane allows concurrently with the target's own calls.
package signaling
