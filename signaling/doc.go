// Package signaling is the control plane: one Session per WebSocket speaking the JSON protocol of
// PROTOCOL.md, rooms of sessions (membership, names, roles, policy, bans), access control (join tokens
// checked at join, grants checked on every action: access.go, publishcheck.go), the room's policy
// (policy.go), running a room (lobby.go, roomstate.go, chat.go, hostcontrols.go, invite.go: waiting
// room, shared state, chat, a host's controls, invitations from the call; recordroom.go: recording with
// consent, whose files package recording writes), limits on every door (limits.go, ratelimit.go:
// per-session message budgets; sdplimits.go; connlimit.go: sockets and joins per address; room
// broadcasts coalesced in roomstate.go), the room's rules kept in
// Redis in cluster mode so that they survive their node (roompersist.go: saved under room.mu, which
// orders the versions, through cluster.RoomStates, which queues and never blocks; loaded with no lock
// held when a node claims the room, before anyone is admitted),
// moderation and the admin API's view of the rooms (moderation.go, directory.go: Server implements
// admin.Directory), room events for webhooks, and the translation between protocol messages and the
// media plane, which it drives through the small Media interface (package sfu implements it).
//
// # Locking rules
//
//   - A session's message budgets and candidate count belong to its reader. connLimiter.mu and
//     joinLimiter.mu (connlimit.go) are leaves. A recording's methods only queue work for its own
//     goroutine, so the room calls them under room.mu; its end is reported back on that goroutine,
//     which then takes room.mu.
//   - Server.mu guards the room and session maps. room.mu guards one room's members, lobby (waiters and
//     the identities admitted), policy, bans, grants and shared state (chat on/off, spotlight, raised
//     hands: roomstate.go), its recording state (recordroom.go) and its broadcast coalescers, whose
//     timers take room.mu to send the state as it is then; it is held while joining the media plane so that every member learns of joins
//     and leaves in the same order, while sending chat messages, room_state and lobby_update (enqueue
//     never blocks) so that they keep that order too, while giving members the grants a policy newly
//     taken from a token changes (policy.go: Session.updateGrants enqueues and calls the media plane's
//     Published and Unpublish, which the lock order allows), and while handing the room's events to the
//     webhooks (which never block). Lock order: Server.mu → room.mu → Session.state.mu, and room.mu → (media plane
//     locks); dropping an empty room and the admin's changes to a room (changeRoom) take both, so a room
//     cannot be dropped under them. A room with waiters in its lobby is not empty.
//   - A lobby waiter (lobby.go) has sent an accepted join but is not a member: its reader set its room
//     but has no media. A moderator's admit registers it with the media plane on the moderator's reader,
//     under room.mu, and sets only its shared media handle (Session.state); the waiter's reader adopts
//     that handle under room.mu on its next message or when it leaves, so the reader-owned join state is
//     still written only by the reader.
//   - A Session has exactly two goroutines: its reader (the HTTP handler's goroutine, which also handles
//     every message, so one session's requests are processed in order) and its writer. Everything else —
//     other sessions, the admin API, the media plane's callbacks — only ever calls Session.enqueue, which
//     never blocks (a session whose queue is full is closed rather than allowed to stall a room), closeWith,
//     or the methods guarded by Session.state.mu.
//   - The reader owns the session's join state (room, media, published m-lines). The identity fields
//     (participant id, name, identity, role, the token's grants, room name) are written by the reader
//     before the session becomes a room member and never change after, so goroutines that find it
//     through the room read them freely. The base of its invitation links is set before the reader runs.
//   - Session.state.mu guards what other goroutines change or read: grants, the moderator's mutes, the own
//     published tracks, a held subscribe offer, and a handle on the media participant for moderation. It
//     is a leaf: nothing is locked, enqueued or called while it is held.
//   - Moderation (a moderator's message, an admin's request) runs on the moderator's or admin's goroutine
//     and reaches the target's media through MediaParticipant.Block, Unpublish and Published, which the
//     media plane allows concurrently with the target's own calls.
//
// # Cluster mode
//
// With a ClusterConfig the server places rooms through Redis (package cluster). A join first takes a hold
// on its room's claim (cluster_claims.go: claimTable.mu is a leaf, never held across Redis I/O); when
// another node owns the room the session becomes an edge forwarder (cluster_edge.go): its reader sends
// client frames up a cluster.RelayConn and one pump goroutine, owned by the reader and ended by closing
// the relay when the session ends, queues the owner's frames for the writer. On the owner, acceptLoop
// (one goroutine, from New until Close) runs each relayed session as an ordinary Session over a
// relayTransport (cluster_owner.go). syncLoop (one goroutine, from New until Close) publishes the owned
// rooms' participant lists and the node's load. Claim releases run on short-lived goroutines tracked by
// Server.bg; Close waits for all of them after the sessions have ended.
package signaling
