// subscriber.js: the subscribe PeerConnection (the server offers).
//
// One job: receive. It answers each `subscribe_offer`, keeps the offer's
// mid -> trackId map, and reports which MediaStreamTrack currently carries
// which server trackId. The server reuses transceivers (a mid can carry
// another track after a renegotiation), so after every offer it reconciles
// the whole mapping instead of trusting `ontrack` alone.

export class Subscriber {
  /**
   * @param {import('./peer.js').Peer} peer  the PC with target "subscribe"
   * @param {import('./signaling.js').Signaling} signaling
   * @param {{onBind(trackId: string, track: MediaStreamTrack): void, onUnbind(trackId: string): void, onError(err: Error): void}} events
   */
  constructor(peer, signaling, events) {
    this.peer = peer;
    this.signaling = signaling;
    this.events = events;
    this.mids = new Map(); // mid -> trackId, as of the latest offer
    this.bound = new Map(); // trackId -> MediaStreamTrack we reported

    this.peer.pc.ontrack = (ev) => {
      // ontrack fires inside setRemoteDescription, after this.mids was
      // updated for the offer that caused it.
      const trackId = this.mids.get(ev.transceiver.mid);
      if (trackId) this.#bind(trackId, ev.track);
    };
  }

  /** Handles one `subscribe_offer` {sdp, tracks}. */
  handleOffer(data) {
    return this.peer.run(async () => {
      const pc = this.peer.pc;
      const next = new Map(Object.entries(data.tracks || {}));
      // A mid the offer does not name keeps its track while its transceiver
      // still receives; this tolerates a server that lists only changes.
      for (const [mid, trackId] of this.mids) {
        if (!next.has(mid)) next.set(mid, trackId);
      }
      this.mids = next;

      await this.peer.setRemote({ type: 'offer', sdp: data.sdp });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      this.signaling.send('subscribe_answer', { sdp: pc.localDescription.sdp });
      this.#reconcile();
    }).catch((err) => this.events.onError(err));
  }

  /** Per received track: {trackId, kind, framesDecoded, framesPerSecond, frameWidth, frameHeight, bytesReceived}. */
  async stats() {
    const pc = this.peer.pc;
    // Chrome's inbound-rtp reports carry `mid`; older ones only the receiver's
    // track id, so keep both ways to find the m-line.
    const midByTrack = new Map();
    for (const t of pc.getTransceivers()) {
      if (t.mid !== null) midByTrack.set(t.receiver.track.id, t.mid);
    }
    const report = await pc.getStats();
    const out = [];
    for (const s of report.values()) {
      if (s.type !== 'inbound-rtp') continue;
      const mid = s.mid ?? midByTrack.get(s.trackIdentifier);
      const trackId = this.mids.get(mid);
      if (!trackId) continue;
      out.push({
        trackId,
        kind: s.kind,
        framesDecoded: s.framesDecoded ?? 0,
        framesPerSecond: s.framesPerSecond ?? 0,
        frameWidth: s.frameWidth ?? 0,
        frameHeight: s.frameHeight ?? 0,
        bytesReceived: s.bytesReceived ?? 0,
      });
    }
    return out;
  }

  #reconcile() {
    const live = new Map(); // trackId -> MediaStreamTrack
    const kept = new Map();
    for (const t of this.peer.pc.getTransceivers()) {
      if (t.mid === null || t.stopped) continue;
      const trackId = this.mids.get(t.mid);
      if (!trackId) continue;
      const dir = t.currentDirection;
      if (dir !== 'recvonly' && dir !== 'sendrecv') continue; // removed by this offer
      live.set(trackId, t.receiver.track);
      kept.set(t.mid, trackId);
    }
    this.mids = kept;
    for (const trackId of [...this.bound.keys()]) {
      if (!live.has(trackId)) {
        this.bound.delete(trackId);
        this.events.onUnbind(trackId);
      }
    }
    for (const [trackId, track] of live) this.#bind(trackId, track);
  }

  #bind(trackId, track) {
    if (this.bound.get(trackId) === track) return;
    // A recycled transceiver hands the same MediaStreamTrack to a new
    // trackId: drop the old binding first so no tile shows stale media.
    for (const [other, t] of this.bound) {
      if (t === track && other !== trackId) {
        this.bound.delete(other);
        this.events.onUnbind(other);
      }
    }
    this.bound.set(trackId, track);
    this.events.onBind(trackId, track);
  }
}
