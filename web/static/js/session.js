// session.js: one stay in one room.
//
// One job: join over the signalling socket, own the two PeerConnections, and
// keep the room's state (participants, track metadata, which received
// MediaStreamTrack belongs to whom). It tells the UI what changed through
// events and never touches the DOM.
//
// Events (CustomEvent, payload in `detail`):
//   state             {state}                       'idle' | 'joining' | 'joined' | 'left'
//   participant       {participant}                 someone is (now) in the room
//   participant-left  {participantId}
//   media             {participantId, group, kind, track, trackId}
//                                                   track is a MediaStreamTrack or null; group is
//                                                   'camera' (camera + microphone) or 'screen'
//   muted             {participantId, kind, muted}  camera group, from track metadata (missing track = muted)
//   screen            {participantId, present}      someone started or stopped sharing a screen
//   stream-state      {trackId, state, layer, reason}  what the server forwards of a video track we receive
//   speakers          {speakers}                    [{participantId, level}], loudest first (may include us)
//   grants            {grants, previous, dropped}   an admin changed our grants; dropped: the sources
//                                                   we stopped sending because they are no longer allowed
//   moderator-mute    {source, muted}               a moderator muted or unmuted one of our tracks
//   joined            {participantId, room}         `joined` arrived; comes before the `participant`
//                                                   events for the people already there
//   room-state        {roomState}                   RoomState from `joined` and every `room_state`
//   media-failed      {target}                      a PeerConnection failed ('publish' | 'subscribe')
//   error             {code, message}               server `error`s and local failures
//   closed            {expected, code, error}       the socket closed; expected after leave(); code:
//                                                   the WebSocket close code; error: the code of the
//                                                   last server `error` not tied to a request (why
//                                                   the server ended the session), or null
//
// Message types Session does not handle reach the handlers registered with
// an Extensions object (extensions.js) given to the constructor.

import { Signaling } from './signaling.js';
import { Peer } from './peer.js';
import { Publisher } from './publisher.js';
import { Subscriber } from './subscriber.js';
import { canPublish, SOURCE_OF_KIND } from './grants.js';
import { rtcConfiguration } from './icepolicy.js';

const KINDS = ['audio', 'video'];
const GROUPS = ['camera', 'screen'];

/** Which tile a track belongs on: a person's own (camera, microphone) or their screen share. */
function groupOf(t) {
  return t.source === 'screen' || t.source === 'screen_audio' ? 'screen' : 'camera';
}

export class Session extends EventTarget {
  /**
   * @param {string} [url]  the signalling endpoint (default: this page's host)
   * @param {{extensions?: import('./extensions.js').Extensions}} [opts]
   */
  constructor(url, { extensions = null, relay = '' } = {}) {
    super();
    this.url = url;
    this.extensions = extensions;
    this.relay = relay; // icepolicy.js's relay switch: '' or the forced relay transport
    this.state = 'idle';
    this.participantId = null;
    this.room = null;
    // From `joined`: who the server takes us for and what we may do. grants
    // stays null with a server that sends none (it allows everything).
    this.identity = null;
    this.role = null;
    this.grants = null;
    this.policy = null;
    this.roomState = null; // RoomState (issue 7) from `joined` / `room_state`; null from older servers
    this.lastError = null; // code of the last server `error` not tied to a request
    this.participants = new Map(); // id -> {id, name}, without us
    this.tracks = new Map(); // trackId -> Track metadata (PROTOCOL.md)
    this.received = new Map(); // trackId -> MediaStreamTrack bound by the subscriber
    this.shown = new Map(); // `${participantId}/${group}/${kind}` -> what we last told the UI
    this.streamStates = new Map(); // trackId -> latest `stream_state` data
    this.speakers = []; // latest `active_speakers` list
    this.signaling = null;
    this.publisher = null;
    this.subscriber = null;
  }

  /**
   * Joins room as name and publishes those of stream's tracks our grants
   * allow (stream may be null for receive-only). token, when given, is the join token of an invitation
   * link (PROTOCOL.md "Tokens"); a dev-mode server on this machine needs
   * none. Resolves once joined; publishing continues in the background and
   * reports failures as `error` events.
   */
  async join(room, name, stream, token) {
    if (this.state !== 'idle') throw new Error('a session joins once; make a new Session');
    this.#setState('joining');
    const sig = new Signaling(this.url);
    this.signaling = sig;
    try {
      await sig.connect();
    } catch (err) {
      this.#setState('left');
      throw err;
    }
    this.#listen(sig);

    let joined;
    try {
      const data = { room, name, version: 1 };
      if (token) data.token = token;
      joined = await sig.request('join', data, 'joined');
    } catch (err) {
      this.#teardown();
      sig.close();
      this.#setState('left');
      throw err;
    }
    // The `joined` listener (#onJoined) already set up the PCs synchronously,
    // before any later message could be dispatched.
    this.#setState('joined');
    if (stream && stream.getTracks().length > 0) {
      this.publisher
        .publish(stream, (source) => canPublish(this.grants, source))
        .catch((err) => this.#report(err, 'publish failed'));
    }
    return joined;
  }

  /** Leaves the room on purpose and releases both PCs. Local tracks are left running. */
  leave() {
    if (this.state === 'left' || this.state === 'idle') return;
    if (this.signaling) {
      this.signaling.send('leave');
      this.signaling.close();
    }
    this.#teardown();
    this.#setState('left');
  }

  /** Mutes/unmutes our published track of this kind (also before it is published). */
  setMuted(kind, muted) {
    this.publisher?.setMuted(kind, muted);
  }

  /** Receive statistics per track, from the subscribe PC. */
  async stats() {
    return this.subscriber ? this.subscriber.stats() : [];
  }

  /**
   * Sends `track_settings` for a track we receive (adaptive stream): how big
   * we show it, whether it is hidden, how much it matters. Returns false when
   * the socket is not open.
   */
  setTrackSettings(trackId, settings) {
    if (this.state !== 'joined' || !trackId) return false;
    return this.signaling.notify('track_settings', { ...settings, trackId });
  }

  /**
   * Publishes one more microphone or camera track (stream: our local
   * stream), e.g. once the host allowed it. Resolves once negotiated.
   */
  async publishTrack(track, stream) {
    if (this.state !== 'joined') throw new Error('not in a room');
    if (!canPublish(this.grants, SOURCE_OF_KIND[track.kind])) throw new Error(`the host has not allowed your ${SOURCE_OF_KIND[track.kind]}`);
    await this.publisher.publishTrack(track, stream);
  }

  /**
   * Sends track (another microphone or camera) in place of the one we
   * publish of its kind, without renegotiating (Publisher.replaceSource).
   * Resolves with the replaced track, or null when we publish none of that
   * kind (yet): the caller's stream then decides what a later publish sends.
   */
  async replaceTrack(track) {
    if (!this.publisher) return null;
    return this.publisher.replaceSource(SOURCE_OF_KIND[track.kind], track);
  }

  /** Publishes a screen capture; resolves with its server trackId once negotiated. */
  async publishScreen(track, stream) {
    if (this.state !== 'joined') throw new Error('not in a room');
    await this.publisher.publishScreen(track, stream);
    return this.publisher.trackIdOf('screen');
  }

  /** Stops our screen share, if any. */
  unpublishScreen() {
    this.publisher?.unpublishScreen();
  }

  /** Per encoding we send of our video tracks (see Publisher.localVideoStats). */
  async localVideoStats() {
    return this.publisher ? this.publisher.localVideoStats() : [];
  }

  /**
   * Per video track we receive: [{trackId, participantId, source, frameWidth,
   * frameHeight, framesDecoded, framesPerSecond, bytesReceived, layer, state,
   * reason}], where layer/state/reason come from the latest `stream_state`
   * ('' and 'unknown' before any).
   */
  async remoteVideoStats() {
    const stats = await this.stats();
    return stats
      .filter((s) => s.kind === 'video')
      .map((s) => {
        const meta = this.tracks.get(s.trackId) || {};
        const st = this.streamStates.get(s.trackId) || {};
        return {
          trackId: s.trackId,
          participantId: meta.participantId ?? null,
          source: meta.source ?? 'camera',
          frameWidth: s.frameWidth,
          frameHeight: s.frameHeight,
          framesDecoded: s.framesDecoded,
          framesPerSecond: s.framesPerSecond,
          bytesReceived: s.bytesReceived,
          layer: st.layer ?? '',
          state: st.state ?? 'unknown',
          reason: st.reason ?? '',
        };
      });
  }

  #listen(sig) {
    sig.on('joined', (d) => this.#onJoined(d));
    sig.on('participant_joined', (d) => this.#addParticipant(d.participant));
    sig.on('participant_left', (d) => this.#removeParticipant(d.participantId));
    sig.on('track_published', (d) => {
      this.#putTrack(d.track);
      if (d.track) this.publisher?.syncMute(d.track);
    });
    sig.on('track_muted', (d) => this.#putTrack(d.track));
    sig.on('track_unpublished', (d) => this.#dropTrack(d.track));
    sig.on('subscribe_offer', (d) => this.subscriber?.handleOffer(d));
    sig.on('ice_candidate', (d) => {
      const peer = d.target === 'publish' ? this.publisher?.peer : this.subscriber?.peer;
      peer?.addRemoteCandidate(d.candidate);
    });
    sig.on('stream_state', (d) => this.#onStreamState(d));
    sig.on('publisher_layers', (d) => {
      this.publisher?.setLayers(d.trackId, d.layers).catch(() => {}); // logged by the publisher
    });
    sig.on('active_speakers', (d) => {
      this.speakers = Array.isArray(d.speakers) ? d.speakers.filter((x) => x && x.participantId) : [];
      this.#emit('speakers', { speakers: this.speakers });
    });
    sig.on('grants_changed', (d) => this.#onGrantsChanged(d));
    sig.on('muted_by_moderator', (d) => {
      const muted = !!d.muted;
      const source = this.publisher?.moderatorMute(d.trackId, muted);
      if (source) this.#emit('moderator-mute', { source, muted });
    });
    sig.on('room_state', (d) => this.#setRoomState(d));
    sig.on('error', (d) => {
      this.lastError = d.code || null;
      this.#emit('error', { code: d.code, message: d.message });
    });
    sig.onClose(({ expected, code }) => {
      if (this.state === 'left') return;
      this.#teardown();
      this.#setState('left');
      this.#emit('closed', { expected, code, error: this.lastError });
    });
    this.extensions?.attach(sig, this);
  }

  /**
   * Whether media flows on the PeerConnections that have something to carry:
   * 'none' (nothing to send or receive), 'connecting', 'connected' or
   * 'failed'. The publish PC counts once we publish, the subscribe PC once
   * someone else publishes.
   */
  mediaState() {
    if (this.state !== 'joined') return this.state === 'left' ? 'failed' : 'connecting';
    const peers = [];
    if (this.publisher && this.publisher.sources().length > 0) peers.push(this.publisher.peer);
    const others = [...this.tracks.values()].some((t) => t.participantId !== this.participantId);
    if (this.subscriber && others) peers.push(this.subscriber.peer);
    if (peers.length === 0) return 'none';
    const states = peers.map((p) => p.pc.connectionState);
    if (states.includes('failed') || states.includes('closed')) return 'failed';
    return states.every((st) => st === 'connected') ? 'connected' : 'connecting';
  }

  /**
   * Resolves once media flows (mediaState() 'connected', or 'none' when
   * there is nothing to carry); rejects with code 'media_failed' if a PC
   * fails or the session ends, 'media_timeout' after timeoutMs.
   */
  waitForMedia(timeoutMs) {
    return new Promise((resolve, reject) => {
      const fail = (code, message) => reject(Object.assign(new Error(message), { code }));
      const started = performance.now();
      const check = () => {
        const st = this.mediaState();
        if (st === 'connected' || st === 'none') resolve();
        else if (st === 'failed') fail('media_failed', 'the media connection failed');
        else if (performance.now() - started > timeoutMs) fail('media_timeout', 'media did not start flowing');
        else setTimeout(check, 100);
      };
      check();
    });
  }

  #setRoomState(d) {
    if (!d || typeof d !== 'object') return;
    this.roomState = d;
    this.#emit('room-state', { roomState: d });
  }

  #onJoined(d) {
    this.participantId = d.participantId;
    this.room = d.room;
    // First, so the UI can drop what it showed of an earlier session before
    // the participants below arrive (a reconnect rebuilds the room).
    this.#emit('joined', { participantId: d.participantId, room: d.room });
    this.identity = d.identity ?? null;
    this.role = d.role ?? null;
    this.grants = d.grants ?? null;
    this.policy = d.policy ?? null;
    const config = rtcConfiguration(d.iceServers, this.relay);

    const pubPeer = new Peer('publish', config, this.signaling);
    const subPeer = new Peer('subscribe', config, this.signaling);
    // A failed PC is not an error to show: the app reconnects (reconnect.js).
    for (const peer of [pubPeer, subPeer]) peer.onFailed = () => this.#emit('media-failed', { target: peer.target });
    this.publisher = new Publisher(pubPeer, this.signaling);
    this.subscriber = new Subscriber(subPeer, this.signaling, {
      onBind: (trackId, track) => {
        this.received.set(trackId, track);
        this.#refreshTrack(trackId);
      },
      onUnbind: (trackId) => {
        this.received.delete(trackId);
        this.#refreshTrack(trackId);
      },
      onError: (err) => this.#report(err, 'could not apply the subscribe offer'),
    });

    for (const p of d.participants || []) this.#addParticipant(p);
    for (const t of d.tracks || []) this.#putTrack(t);
    if (d.roomState) this.#setRoomState(d.roomState);
  }

  /**
   * An admin changed our grants. The server already unpublished the tracks
   * it lists (everyone got track_unpublished); stop sending them, and any
   * other source no longer allowed whose offer was still in flight.
   */
  #onGrantsChanged(d) {
    const previous = this.grants;
    this.grants = d.grants || {};
    const dropped = new Set();
    for (const trackId of Array.isArray(d.unpublished) ? d.unpublished : []) {
      const source = this.publisher?.drop(trackId);
      if (source) dropped.add(source);
    }
    for (const source of this.publisher?.sources() || []) {
      if (canPublish(this.grants, source)) continue;
      this.publisher.dropSource(source);
      dropped.add(source);
    }
    this.#emit('grants', { grants: this.grants, previous, dropped: [...dropped] });
  }

  #addParticipant(p) {
    if (!p || p.id === this.participantId) return;
    this.participants.set(p.id, p);
    this.#emit('participant', { participant: p });
    this.#refreshAll(p.id);
  }

  #removeParticipant(id) {
    if (!this.participants.has(id)) return;
    // PROTOCOL.md sends track_unpublished first, but a server that died mid
    // way may not have: forget their tracks here too.
    for (const [trackId, t] of this.tracks) {
      if (t.participantId === id) {
        this.tracks.delete(trackId);
        this.streamStates.delete(trackId);
      }
    }
    this.participants.delete(id);
    for (const group of GROUPS) for (const kind of KINDS) this.shown.delete(`${id}/${group}/${kind}`);
    this.#emit('participant-left', { participantId: id });
  }

  #putTrack(t) {
    if (!t || !t.id) return;
    const prev = this.tracks.get(t.id);
    this.tracks.set(t.id, t);
    if (prev && (prev.participantId !== t.participantId || groupOf(prev) !== groupOf(t))) {
      this.#refresh(prev.participantId, prev.kind, groupOf(prev));
    }
    this.#refreshTrack(t.id);
  }

  #dropTrack(t) {
    if (!t || !t.id) return;
    const prev = this.tracks.get(t.id) || t;
    this.tracks.delete(t.id);
    this.streamStates.delete(t.id);
    this.#refresh(prev.participantId, prev.kind, groupOf(prev));
  }

  #refreshTrack(trackId) {
    const t = this.tracks.get(trackId);
    if (t) this.#refresh(t.participantId, t.kind, groupOf(t));
  }

  #refreshAll(participantId) {
    for (const group of GROUPS) for (const kind of KINDS) this.#refresh(participantId, kind, group);
  }

  #onStreamState(d) {
    if (!d || !d.trackId) return;
    this.streamStates.set(d.trackId, d);
    this.#emit('stream-state', { trackId: d.trackId, state: d.state, layer: d.layer ?? '', reason: d.reason ?? '', limit: d.limit ?? '' });
  }

  /**
   * Works out what the UI should show for one participant, group and kind,
   * and emits `screen`/`media`/`muted` only when that changed. A screen
   * share's tile exists while its video track is published: `screen`
   * {present: true} comes before its media, {present: false} after.
   */
  #refresh(participantId, kind, group) {
    if (!participantId || !this.participants.has(participantId)) return;
    let meta = null;
    for (const t of this.tracks.values()) {
      if (t.participantId !== participantId || t.kind !== kind || groupOf(t) !== group) continue;
      if (!meta || this.received.has(t.id)) meta = t;
    }
    const track = meta ? this.received.get(meta.id) || null : null;
    const trackId = meta ? meta.id : null;
    const muted = !meta || !!meta.muted;
    const key = `${participantId}/${group}/${kind}`;
    const prev = this.shown.get(key) || { track: null, trackId: null, muted: null, present: false };
    const present = !!meta;
    this.shown.set(key, { track, trackId, muted, present });
    const screenTile = group === 'screen' && kind === 'video';
    if (screenTile && present && !prev.present) {
      this.#emit('screen', { participantId, present: true });
      // Shared audio (screen_audio) that arrived first had no tile to go to.
      this.shown.delete(`${participantId}/screen/audio`);
      this.#refresh(participantId, 'audio', 'screen');
    }
    if (prev.track !== track || (track && prev.trackId !== trackId)) {
      this.#emit('media', { participantId, group, kind, track, trackId: track ? trackId : null });
    }
    if (group === 'camera' && prev.muted !== muted) this.#emit('muted', { participantId, kind, muted });
    if (screenTile && !present && prev.present) this.#emit('screen', { participantId, present: false });
  }

  #teardown() {
    this.publisher?.peer.close();
    this.subscriber?.peer.close();
    this.received.clear();
    this.streamStates.clear();
  }

  #report(err, what) {
    // After leaving, failures are noise; and a request cut short by a closing
    // socket is reported once, as the `closed` event, not as an error.
    if (this.state === 'left' || err.code === 'closed') return;
    this.#emit('error', { code: err.code || 'client', message: err.message ? `${what}: ${err.message}` : what });
  }

  #setState(state) {
    this.state = state;
    this.#emit('state', { state });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
