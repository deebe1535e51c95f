// publisher.js: the publish PeerConnection (the client offers).
//
// One job: send our microphone and camera. It adds send-only transceivers
// (audio first, then video), names each m-line's source in `publish_offer`,
// applies `publish_answer`, remembers the server's trackId for each of our
// tracks, and keeps the server's muted flag in step with track.enabled.

/** Source names from PROTOCOL.md, by track kind, for the camera/mic case. */
const SOURCE_BY_KIND = { audio: 'microphone', video: 'camera' };

export class Publisher {
  /**
   * @param {import('./peer.js').Peer} peer  the PC with target "publish"
   * @param {import('./signaling.js').Signaling} signaling
   */
  constructor(peer, signaling) {
    this.peer = peer;
    this.signaling = signaling;
    this.local = new Map(); // kind -> {track, transceiver, trackId, muted}
  }

  /**
   * Publishes the audio and video tracks of stream (either may be absent).
   * Resolves once the answer is applied; rejects with the server's error.
   * @param {MediaStream} stream
   */
  publish(stream) {
    const tracks = [...stream.getAudioTracks().slice(0, 1), ...stream.getVideoTracks().slice(0, 1)];
    if (tracks.length === 0) return Promise.resolve();

    return this.peer.run(async () => {
      const pc = this.peer.pc;
      // Audio first, then video: the order PROTOCOL.md's example uses and
      // what the server expects when it maps unnamed m-lines.
      for (const track of tracks) {
        // One stream id per transceiver keeps lip sync groups per publisher.
        const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
        const prev = this.local.get(track.kind);
        this.local.set(track.kind, {
          track,
          transceiver,
          trackId: null,
          muted: prev ? prev.muted : !track.enabled,
        });
      }

      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      // mids exist only after setLocalDescription.
      const named = [];
      for (const [kind, entry] of this.local) {
        named.push({ mid: entry.transceiver.mid, source: SOURCE_BY_KIND[kind] });
      }
      const answer = await this.signaling.request(
        'publish_offer',
        { sdp: pc.localDescription.sdp, tracks: named },
        'publish_answer',
      );
      await this.peer.setRemote({ type: 'answer', sdp: answer.sdp });

      const byMid = new Map((answer.tracks || []).map((t) => [t.mid, t.trackId]));
      for (const entry of this.local.values()) {
        entry.trackId = byMid.get(entry.transceiver.mid) ?? null;
        // The user may have muted before the server knew the track; the
        // server starts every track unmuted, so tell it now.
        if (entry.muted && entry.trackId) this.#sendMute(entry);
      }
    });
  }

  /** The server's trackId of our track of this kind, or null before the answer. */
  trackIdOf(kind) {
    return this.local.get(kind)?.trackId ?? null;
  }

  /** Our server trackIds, for telling our own tracks apart in track events. */
  trackIds() {
    return [...this.local.values()].map((e) => e.trackId).filter(Boolean);
  }

  /**
   * Mutes or unmutes our track of this kind: blanks it locally
   * (track.enabled) and sends `mute` once the server knows its id.
   */
  setMuted(kind, muted) {
    const entry = this.local.get(kind);
    if (!entry) return;
    entry.track.enabled = !muted;
    if (entry.muted === muted) return;
    entry.muted = muted;
    if (entry.trackId) this.#sendMute(entry);
  }

  #sendMute(entry) {
    this.signaling.send('mute', { trackId: entry.trackId, muted: entry.muted });
  }
}
