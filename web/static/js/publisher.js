// publisher.js: the publish PeerConnection (the client offers).
//
// One job: send our microphone, camera and screen share. It adds send-only
// transceivers (audio first, then video), sends the camera as simulcast
// (simulcast.js), names each m-line's source and layers in `publish_offer`,
// applies `publish_answer`, remembers the server's trackId for each of our
// tracks, keeps the server's muted flag in step with track.enabled, turns
// simulcast layers on and off when the server says whether anyone watches
// them (dynacast, `publisher_layers`), and stops sending a source the server
// no longer lets us publish (grants_changed) or tracks a moderator's mute,
// and swaps in another camera or microphone without renegotiating.

import { cameraSimulcast, SCREEN_ENCODING } from './simulcast.js';
import { availableOutgoingBitrate } from './stats.js';

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
    // source ('microphone' | 'camera' | 'screen') -> {track, transceiver, trackId, muted, layers,
    // blocked}; blocked: a moderator muted it (muted_by_moderator)
    this.local = new Map();
    // Dynacast updates are applied one at a time: setParameters rejects
    // parameters read before another setParameters finished.
    this.layerChain = Promise.resolve();
  }

  /**
   * Publishes the audio and video tracks of stream (either may be absent),
   * those whose source allow(source) accepts: the grants decide, and an
   * offer naming a source we may not publish would be refused whole.
   * Resolves once the answer is applied; rejects with the server's error.
   * @param {MediaStream} stream
   * @param {(source: string) => boolean} [allow]
   */
  publish(stream, allow = () => true) {
    const tracks = [...stream.getAudioTracks().slice(0, 1), ...stream.getVideoTracks().slice(0, 1)]
      .filter((t) => allow(SOURCE_BY_KIND[t.kind]));
    if (tracks.length === 0) return Promise.resolve();

    return this.peer.run(async () => {
      // Audio first, then video: the order PROTOCOL.md's example uses and
      // what the server expects when it maps unnamed m-lines.
      for (const track of tracks) this.#addMedia(track, stream);
      await this.#negotiate();
    });
  }

  /**
   * Publishes one more microphone or camera track (one the host allowed
   * during the call) on a new transceiver and renegotiates. A source
   * published before and dropped gets a fresh m-line, as a screen share does.
   * @param {MediaStreamTrack} track
   * @param {MediaStream} stream  our local stream (one stream id keeps lip sync)
   */
  publishTrack(track, stream) {
    return this.peer.run(async () => {
      const source = SOURCE_BY_KIND[track.kind];
      if (this.local.has(source)) throw new Error(`a ${source} is already published`);
      const entry = this.#addMedia(track, stream);
      try {
        await this.#negotiate();
      } catch (err) {
        this.#removeSender(entry.transceiver);
        if (this.local.get(source) === entry) this.local.delete(source);
        throw err;
      }
    });
  }

  /**
   * Sends track instead of what source sends now (another camera or
   * microphone chosen during the call) with RTCRtpSender.replaceTrack: no
   * renegotiation, so the server keeps the trackId and the others' tiles stay.
   * The sender keeps its encodings (simulcast layers and what dynacast turned
   * off), and the new track keeps our mute and a moderator's block. Resolves
   * with the track it replaced (its owner stops it), or null when source is
   * not published (nothing was changed); rejects if the sender refused.
   * @param {'microphone'|'camera'} source
   * @param {MediaStreamTrack} track  of the source's kind
   */
  replaceSource(source, track) {
    return this.peer.run(async () => {
      const entry = this.local.get(source);
      if (!entry) return null;
      if (entry.track.kind !== track.kind) throw new Error(`a ${track.kind} track cannot replace the ${source}`);
      if (entry.track === track) return null;
      track.enabled = !entry.muted && !entry.blocked;
      await entry.transceiver.sender.replaceTrack(track);
      const old = entry.track;
      entry.track = track;
      return old;
    });
  }

  /** Adds a send-only transceiver for a mic or camera track (the camera as simulcast); runs inside peer.run. */
  #addMedia(track, stream) {
    const source = SOURCE_BY_KIND[track.kind];
    // One stream id per transceiver keeps lip sync groups per publisher.
    const init = { direction: 'sendonly', streams: [stream] };
    let layers = null;
    if (track.kind === 'video') {
      const plan = cameraSimulcast(track);
      init.sendEncodings = plan.sendEncodings;
      layers = plan.layers;
    }
    const transceiver = this.peer.pc.addTransceiver(track, init);
    const prev = this.local.get(source);
    const entry = {
      track,
      transceiver,
      trackId: null,
      muted: prev ? prev.muted : !track.enabled,
      layers,
      blocked: false,
    };
    this.local.set(source, entry);
    return entry;
  }

  /**
   * Publishes a screen capture track as source "screen" on a new
   * transceiver and renegotiates. One sharp encoding at a low frame rate:
   * what a shared document needs (simulcast would spend the uplink on
   * pictures of text nobody can read).
   * @param {MediaStreamTrack} track  from getDisplayMedia
   * @param {MediaStream} stream  its stream (one stream id for the share)
   */
  publishScreen(track, stream) {
    return this.peer.run(async () => {
      if (this.local.has('screen')) throw new Error('a screen share is already published');
      // Tells the encoder to keep resolution (sharp text) and drop frames
      // instead when the link is tight.
      if ('contentHint' in track) track.contentHint = 'detail';
      const transceiver = this.peer.pc.addTransceiver(track, {
        direction: 'sendonly',
        streams: [stream],
        sendEncodings: [{ ...SCREEN_ENCODING }],
      });
      this.local.set('screen', { track, transceiver, trackId: null, muted: false, layers: null, blocked: false });
      try {
        await this.#negotiate();
      } catch (err) {
        this.#removeSender(transceiver);
        this.local.delete('screen');
        throw err;
      }
    });
  }

  /**
   * Stops the screen share: tells the server (`unpublish`) so everyone
   * drops the tile at once, and stops sending. The transceiver is not
   * reused: the server keeps a mid's track id for the life of the PC, so the
   * next share gets a fresh m-line and so a fresh track.
   */
  unpublishScreen() {
    const entry = this.local.get('screen');
    if (!entry) return;
    this.local.delete('screen');
    if (entry.trackId) this.signaling.send('unpublish', { trackId: entry.trackId });
    this.peer.run(async () => this.#removeSender(entry.transceiver));
  }

  /** The sources we publish (or are negotiating): 'microphone', 'camera', 'screen'. */
  sources() {
    return [...this.local.keys()];
  }

  /**
   * Stops sending our track trackId, which the server has already
   * unpublished (its source is no longer granted): no `unpublish` goes out.
   * Returns its source, or null if it is not ours. Stopping the
   * MediaStreamTrack itself is up to its owner.
   */
  drop(trackId) {
    const found = [...this.local].find(([, e]) => e.trackId === trackId);
    if (!found) return null;
    this.dropSource(found[0]);
    return found[0];
  }

  /** Stops sending source, without telling the server (see drop). */
  dropSource(source) {
    const entry = this.local.get(source);
    if (!entry) return;
    this.local.delete(source);
    this.peer.run(async () => this.#removeSender(entry.transceiver));
  }

  /**
   * Records a moderator's mute (or unmute) of our track trackId
   * (`muted_by_moderator`) and returns its source, or null if it is not
   * ours. While blocked the server forwards none of it. On unblock the
   * server marks the track unmuted, but our own mute stays (the user
   * unmutes when ready): say so, so the others see the truth.
   */
  moderatorMute(trackId, muted) {
    const found = [...this.local].find(([, e]) => e.trackId === trackId);
    if (!found) return null;
    const [source, entry] = found;
    entry.blocked = muted;
    if (!muted && entry.muted) this.#sendMute(entry);
    return source;
  }

  /**
   * The server announced one of our tracks (`track_published`: its media
   * now arrives). A `mute` sent before that can come too early for the
   * server, which knows a track only once media flows, so say again whether
   * it is muted when the server's flag differs from ours (a microphone muted
   * before joining, or before a reconnect).
   */
  syncMute(track) {
    const entry = [...this.local.values()].find((e) => e.trackId === track.id);
    if (!entry || entry.blocked || !!track.muted === entry.muted) return;
    this.#sendMute(entry);
  }

  /** The server's trackId of our track of this kind ('audio'/'video': mic/camera), or null before the answer. */
  trackIdOf(kind) {
    return this.local.get(SOURCE_BY_KIND[kind] || kind)?.trackId ?? null;
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
    const entry = this.local.get(SOURCE_BY_KIND[kind]);
    // While a moderator's mute holds, the server refuses our unmute.
    if (!entry || (entry.blocked && !muted)) return;
    entry.track.enabled = !muted;
    if (entry.muted === muted) return;
    entry.muted = muted;
    if (entry.trackId) this.#sendMute(entry);
  }

  /**
   * Dynacast: turns our encodings of trackId on or off to match the server's
   * `publisher_layers` list, so we do not encode and send layers nobody
   * receives. Rids the message does not name keep their state.
   * @param {string} trackId
   * @param {{rid: string, active: boolean}[]} layers
   */
  setLayers(trackId, layers) {
    const entry = [...this.local.values()].find((e) => e.trackId === trackId);
    if (!entry || !Array.isArray(layers)) return Promise.resolve(false);
    const want = new Map(layers.filter((l) => l && typeof l.rid === 'string').map((l) => [l.rid, !!l.active]));
    const sender = entry.transceiver.sender;
    const step = this.layerChain.then(async () => {
      const params = sender.getParameters();
      let changed = false;
      for (const enc of params.encodings || []) {
        if (enc.rid && want.has(enc.rid) && enc.active !== want.get(enc.rid)) {
          enc.active = want.get(enc.rid);
          changed = true;
        }
      }
      if (changed) await sender.setParameters(params);
      return changed;
    });
    this.layerChain = step.catch((err) => console.warn('huddle: could not apply publisher_layers', err));
    return step;
  }

  /**
   * Per encoding of our video tracks, from the publish PC's outbound-rtp
   * statistics: [{trackId, source, rid, frameWidth, frameHeight,
   * framesEncoded, framesPerSecond, bytesSent, active, maxBitrate, maxFramerate,
   * qualityLimitationReason}]. `active` and the limits are what we asked the
   * sender for (setParameters), which is what dynacast sets.
   */
  async localVideoStats() {
    const byMid = new Map();
    for (const [source, e] of this.local) {
      if (e.track.kind !== 'video' || e.transceiver.mid === null) continue;
      const params = new Map((e.transceiver.sender.getParameters().encodings || []).map((enc) => [enc.rid || '', enc]));
      byMid.set(e.transceiver.mid, { source, entry: e, params });
    }
    const report = await this.peer.pc.getStats();
    const out = [];
    for (const s of report.values()) {
      if (s.type !== 'outbound-rtp' || s.kind !== 'video') continue;
      const m = byMid.get(s.mid);
      if (!m) continue;
      const rid = s.rid || '';
      const enc = m.params.get(rid) || {};
      out.push({
        trackId: m.entry.trackId,
        source: m.source,
        rid,
        frameWidth: s.frameWidth ?? 0,
        frameHeight: s.frameHeight ?? 0,
        framesEncoded: s.framesEncoded ?? 0,
        framesPerSecond: s.framesPerSecond ?? 0,
        bytesSent: s.bytesSent ?? 0,
        active: enc.active !== false,
        maxBitrate: enc.maxBitrate ?? 0,
        maxFramerate: enc.maxFramerate ?? 0,
        qualityLimitationReason: s.qualityLimitationReason ?? '',
      });
    }
    // Lowest layer first, like the layers we declare.
    const order = { q: 0, h: 1, f: 2 };
    out.sort((a, b) => (a.source === b.source ? (order[a.rid] ?? 9) - (order[b.rid] ?? 9) : a.source < b.source ? -1 : 1));
    return out;
  }

  /** The browser's estimate of the bandwidth we may publish at (bits/s), or null before one. */
  async sendBandwidth() {
    return availableOutgoingBitrate(await this.peer.pc.getStats());
  }

  /** The layers we declared for our track trackId (tests compare them with what is encoded). */
  declaredLayers(trackId) {
    return [...this.local.values()].find((e) => e.trackId === trackId)?.layers ?? null;
  }

  /**
   * Offers every live transceiver, naming its source (and simulcast
   * layers), applies the answer and records the server's track ids. Runs
   * inside peer.run.
   */
  async #negotiate() {
    const pc = this.peer.pc;
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    // mids exist only after setLocalDescription.
    const named = [];
    for (const [source, entry] of this.local) {
      const t = { mid: entry.transceiver.mid, source };
      if (entry.layers) t.layers = entry.layers;
      named.push(t);
    }
    const answer = await this.signaling.request(
      'publish_offer',
      { sdp: pc.localDescription.sdp, tracks: named },
      'publish_answer',
    );
    await this.peer.setRemote({ type: 'answer', sdp: answer.sdp });

    const byMid = new Map((answer.tracks || []).map((t) => [t.mid, t.trackId]));
    for (const entry of this.local.values()) {
      const had = entry.trackId;
      entry.trackId = byMid.get(entry.transceiver.mid) ?? entry.trackId;
      // The user may have muted before the server knew the track; the
      // server starts every track unmuted, so tell it now.
      if (!had && entry.muted && entry.trackId) this.#sendMute(entry);
    }
  }

  /** Stops sending on transceiver; its m-line stays (inactive) until the PC closes. */
  #removeSender(transceiver) {
    try {
      if (this.peer.pc.signalingState !== 'closed') this.peer.pc.removeTrack(transceiver.sender);
    } catch (err) {
      console.warn('huddle: could not remove a sender', err);
    }
  }

  #sendMute(entry) {
    // Advisory: a refusal (the track is not flowing yet) is logged, not shown;
    // syncMute repeats it once the server has the track.
    this.signaling.notify('mute', { trackId: entry.trackId, muted: entry.muted });
  }
}
