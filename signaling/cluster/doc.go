// Package cluster is the groundwork of multi-node rooms: the state that signalling nodes share through
// one Redis server (a single primary, not Redis Cluster: the Lua scripts touch keys they derive).
//
//   - Registry: each node publishes a NodeInfo (id, region, URLs, load, draining) under a key with a
//     TTL, refreshed by a heartbeat goroutine. A node that stops heart-beating drops out by itself. When
//     Redis is unreachable the heartbeat retries with backoff and, once Redis answers again, re-registers
//     and re-claims the node's rooms (those nobody else took meanwhile) without a restart.
//   - Placement: which node owns a room. Claim returns the live owner or atomically claims the room for
//     the least-loaded live, non-draining node (preferring a region); the owner's heartbeat keeps its
//     claims alive, Release gives one up (only by its owner), and the owner keeps each room's participant
//     list. Rooms and Participants are the cluster-wide reads an admin API needs.
//   - Relay: a per-session, ordered, bidirectional message channel between the node holding a client's
//     WebSocket (the edge) and the room's owner, carried by two Redis streams; the Relay type's
//     documentation gives the protocol. A RelayConn fails with ErrPeerGone within about a TTL of its
//     peer node's death.
//
// # Keys
//
// Every key starts with the configured prefix (DefaultPrefix). The word after the prefix names the
// key's kind and is followed by ':' and the name, so two kinds never collide whatever a name contains.
// Every key is deleted when its owner is done with it and carries a TTL (NodeTTL, 5 s by default) that
// only its owner's goroutines refresh, so a crashed node leaves nothing behind for longer than a TTL.
// The exception is room-state: a room's rules (bans, lock, grants, ...) must outlive a crashed owner so
// that the node re-homing the room restores them; it lives RoomStateTTL after its last write and is
// deleted when the room ends.
//
//	key                  type    holds                               refreshed by
//	node:{id}            STRING  NodeInfo as JSON                    the node's heartbeat
//	nodes                SET     ids of registered nodes             every heartbeat
//	node-rooms:{id}      SET     rooms the node owns                 the node's heartbeat
//	room:{room}          STRING  the owner's node id (the claim)     the owner's heartbeat
//	room-members:{room}  HASH    participant id -> Participant JSON  the owner's heartbeat, with the claim
//	room-state:{room}    HASH    v: version, d: the room's rules     the owner's writes (RoomStateTTL)
//	relay-inbox:{id}     STREAM  sessions announced to the node      the node's relay
//	relay-wake:{id}      STREAM  one entry: wakes the node's reader  the node's relay
//	relay-up:{sid}       STREAM  edge -> owner entries of a session  both ends' relays
//	relay-down:{sid}     STREAM  owner -> edge entries of a session  both ends' relays
//	relay-edge:{sid}     STRING  "open"/"closed": the edge end       the edge's relay
//	relay-owner:{sid}    STRING  "open"/"closed": the owner end      the owner's relay
//
// # Locking rules
//
//   - No mutex is ever held across Redis I/O. Each type snapshots what it needs under its mutex, talks to
//     Redis unlocked, then applies the result under the mutex again.
//   - RoomStates.mu guards the pending writes; its writer goroutine snapshots them, writes unlocked and
//     forgets what Redis acknowledged unless a newer version arrived meanwhile.
//   - Registry.mu guards the node's own info, health and the set of rooms it owns. Relay.mu guards the
//     session maps and the closed flag. RelayConn.mu guards one session's receive queue, read cursor and
//     state. No two of them are ever held together.
//   - Callbacks (Registry's OnHealthChange and OnRoomsLost) run on the heartbeat goroutine with no lock
//     held; they must not block for long. They may call back into the package.
//   - A RelayConn allows one Send and one Recv at a time (like gorilla/websocket): concurrent Sends would
//     race for sequence numbers, so a second concurrent Send returns ErrConcurrentSend. The one Send in
//     flight holds the session's send token (a channel, not a mutex) across its Redis call; Close waits
//     for it, at most a second, so that the close marker comes after the last message. Close may be
//     called from any goroutine, any number of times.
//
// # Goroutines
//
// Registry: one heartbeat goroutine, from Start until Leave. Relay: one reader (a blocking XREAD over
// the node's inbox and all its sessions' inbound streams), one keeper (TTL refresh and peer liveness,
// once a heartbeat interval) and one waker (nudges the reader when the set of streams changes); all end
// in Relay.Close. RoomStates: one writer, from NewRoomStates until Close. Nothing else runs in the
// background.
package cluster
