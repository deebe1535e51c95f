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
// A Receiver owns one published track (all of its simulcast layers). One goroutine per layer reads RTP and
// hands each packet, synchronously, to every DownTrack attached to the receiver. The DownTrack list is
// copy-on-write behind an atomic pointer, so the reader takes no lock to find its subscribers. A DownTrack
// rewrites SSRC, payload type, sequence number and timestamp and writes through pion's SRTP stream, which
// is a non-blocking UDP send: a slow or vanished subscriber loses its own packets and never stalls the
// reader or the other subscribers. Video starts (and restarts) on a keyframe; a DownTrack waiting for one
// asks the Receiver, which throttles keyframe requests to the publisher per track.
//
// # Locking rules
//
//   - SFU.mu guards the room map. Room.mu guards a room's participants and published tracks.
//     subscriber.mu guards one subscribe PeerConnection's tracks and offer/answer state.
//     Receiver.mu guards the writers' side of its DownTrack list and its layers.
//   - The media path takes no lock: a reader loads its DownTrack list and each DownTrack's binding
//     through atomic pointers, and a DownTrack's rewriting state belongs to the one layer reader that
//     forwards to it.
//   - Lock order, outer to inner: subscriber.mu → Receiver.mu. Room.mu and SFU.mu are never held while
//     taking another sfu lock, and no lock is held across a network write.
//   - ParticipantEvents methods are called with Room.mu held, so that events reach each participant in the
//     order the room changed; implementations must not block and must not call back into this package.
//   - Participant methods may be called from any goroutine; calls for one participant are expected from a
//     single control goroutine (its signalling session), and Close may race with all of them.
//
// # Goroutines
//
// Per published layer: one RTP reader and one RTCP reader, both ended by the publish PeerConnection's
// close (or the track ending). Per DownTrack: one RTCP reader, ended when its sender stops. pion's own
// goroutines end with PeerConnection.GracefulClose, which Participant.Close waits for.
package sfu
