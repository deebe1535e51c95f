// Package sfu is the media plane: rooms of participants whose published RTP tracks are forwarded, without
// decoding, to every other participant in the room. It knows RTP, RTCP, codecs and pion; it knows nothing of
// WebSocket, JSON, Redis or tokens. A control plane (package signaling) drives it through SFU.Join and the
// Participant methods, and hears back through the ParticipantEvents it passes in.
//
// # Two PeerConnections per participant
//
// Each participant has a publish PeerConnection, where the client offers and the SFU answers, and a
// subscribe PeerConnection, where the SFU offers and the client answers. Each side only ever offers on its
// own connection, so there is no glare to resolve and no perfect-negotiation rollback on the hot path;
// the price is a second ICE/DTLS handshake, which BUNDLE and the shared UDP port keep cheap.
//
// # Media path
//
// A Receiver owns one published track and all of its simulcast layers. One goroutine per layer reads RTP,
// keeps the packet in the layer's cache (for NACKs) and hands it, synchronously, to every DownTrack
// attached to the receiver. The DownTrack list is copy-on-write behind an atomic pointer, so the reader
// takes no lock to find its subscribers. A DownTrack forwards one layer: packets of other layers are
// dropped on two atomic loads; for its layer it takes its own mutex for a few field updates (the
// forwarder: layer switches on keyframes, continuous sequence numbers, timestamps and VP8 picture ids)
// and then writes through pion's SRTP stream, a non-blocking UDP send. A slow or vanished subscriber loses
// its own packets and never stalls the reader or the other subscribers.
//
// The media UDP socket (rawudp_linux.go) issues recvfrom and sendto as raw system calls through its
// RawConn: the standard library's calls enter the scheduler's syscall state, which wakes Go's monitor
// thread at the start of every forwarding burst (17 % of a livestream node's CPU, measured).
//
// # Bandwidth
//
// Each subscriber has a bandwidth estimator (package bwe): DownTracks stamp every packet with a
// transport-wide sequence number and record it there, and hand it the subscriber's transport-wide
// feedback. Subscribe PeerConnections run no pion interceptors; the SFU does their work cheaper (NACKs
// from the shared cache, sender reports with the publisher's clock). The subscriber's allocation loop
// spends the estimate across its tracks (allocate: audio, screen share, priority, then layers, with
// hysteresis), probes with padding when a track is held back, sets each DownTrack's target layer, and
// reports what changed through StreamStateChanged. Receivers aggregate their DownTracks' targets and tell the publisher which
// layers anyone needs (dynacast, PublisherLayers). One node-wide goroutine reads the microphones'
// audio levels and announces each room's speakers (ActiveSpeakers).
//
// # Locking rules
//
//   - SFU.mu guards the room map. Room.mu guards a room's participants, published tracks and speakers.
//     subscriber.mu guards one subscribe PeerConnection's tracks, settings and offer/answer state.
//     Receiver.mu guards the writers' side of its DownTrack list and its layer count. DownTrack.mu guards
//     its forwarding state and send history. packetCache.mu guards one layer's cache. dynacast.mu guards
//     what the publisher was last told. bwe.Estimator has its own mutex, a leaf. The media socket has a read
//     and a write mutex around each system call's arguments, leaves.
//   - A recording (recordtap.go, Participant.Record) is a tap on one Receiver: RecordTap.mu, a leaf,
//     guards its forwarder and the write side of its packet ring; the media path takes it to copy a
//     packet in, and the tap's own goroutine hands the ring to the RecordSink (file I/O) with no sfu
//     lock held. A full ring drops packets; it never blocks the media path.
//   - The media path takes only the DownTrack, packet-cache and record-tap mutexes, each for a copy or a few fields;
//     layers and DownTrack lists are found through atomic pointers.
//   - Lock order, outer to inner: subscriber.mu → Receiver.mu → dynacast.mu; DownTrack.mu,
//     packetCache.mu and the estimator's mutex are leaves. Room.mu and SFU.mu are never held while taking another sfu lock except
//     to read a Receiver's atomics, and no lock is held across a network write.
//   - ParticipantEvents methods are called from the SFU's goroutines, some with Room.mu held so that
//     events reach each participant in the order the room changed; implementations must not block and
//     must not call back into this package.
//   - Participant methods may be called from any goroutine: its signalling session drives negotiation
//     (Publish, AcceptSubscriberAnswer, AddICECandidate) from one goroutine, while moderators and the
//     admin API may call Block, Unpublish, SetMuted and Published concurrently with it; Close may race
//     with all of them. Each method takes the locks it needs.
//
// # Goroutines
//
// Per published layer: one RTP reader and one RTCP reader, both ended by the publish PeerConnection's
// close (or the track ending). Per DownTrack: one RTCP reader (keyframe requests and NACKs), ended when its
// sender stops. Per subscriber: one allocation loop (also sending RTCP sender reports), ended by
// Participant.Close. Per recorded track: one tap goroutine, ended by RecordTap.Stop, the track's end or its
// sink's error. Per node: one speaker detector, ended by SFU.Close. A dynacast downgrade is a timer,
// stopped when its track ends. pion's own goroutines end with PeerConnection.GracefulClose, which
// Participant.Close waits for.
package sfu
