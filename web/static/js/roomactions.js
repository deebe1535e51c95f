// roomactions.js: the room messages of issue 7, sent for the UI.
//
// One job: send chat, hands, grants, spotlight, settings, admit/decline,
// end_room and the moderators' mute and remove (signaling/PROTOCOL.md) on the
// current session's socket, wait for their `ack`, and turn a refusal into a
// banner. It remembers what this moderator granted whom (set_grants replaces
// a participant's publish list, so "allow the camera too" must resend the
// microphone), and whether we ended the room ourselves. It never touches the
// DOM beyond the banners it is given.

import { errorTitle, errorDetail } from './errors.js';

/** Sources a moderator hands out to attendees: set_grants' publish list. */
const GRANTABLE = ['microphone', 'camera'];

export class RoomActions {
  /**
   * @param {() => import('./session.js').Session|null} session  the current session
   * @param {import('./banners.js').Banners} banners
   */
  constructor(session, banners) {
    this.session = session;
    this.banners = banners;
    this.granted = new Map(); // participantId -> Set of sources we granted (or saw them publish)
    this.endedByUs = false; // we sent end_room: our own room_closed is expected
  }

  /** Forgets per-room memory (a new join; participant ids are new). */
  reset() {
    this.granted.clear();
    this.endedByUs = false;
  }

  /**
   * Sends type with data and resolves with true on `ack`; a refusal shows a
   * banner (unless quiet) and resolves false. A socket that closes under the
   * request resolves false quietly (the call's own handling says why).
   */
  async send(type, data = {}, { quiet = false } = {}) {
    const s = this.session();
    if (!s || s.state !== 'joined' || !s.signaling) return false;
    try {
      await s.signaling.request(type, data, 'ack');
      return true;
    } catch (err) {
      if (!quiet && err.code !== 'closed' && this.session() === s) {
        this.banners.show(`room:${type}`, { title: errorTitle(err.code), text: errorDetail(err.code, err.message || String(err)), tone: 'warning' });
      }
      return false;
    }
  }

  chat(text) {
    return this.send('chat', { text });
  }

  raiseHand(raised) {
    return this.send('raise_hand', { raised: !!raised });
  }

  lowerHand(participantId) {
    return this.send('lower_hand', { participantId });
  }

  /** The sources participantId may publish as far as we know: what we granted and what they publish. */
  allowed(participantId) {
    const s = this.session();
    const out = new Set(this.granted.get(participantId) || []);
    for (const t of s ? s.tracks.values() : []) {
      if (t.participantId === participantId && GRANTABLE.includes(t.source)) out.add(t.source);
    }
    return out;
  }

  /** Lets participantId publish source too (on: true) or no longer (false). */
  async grant(participantId, source, on) {
    const next = this.allowed(participantId);
    if (on) next.add(source);
    else next.delete(source);
    const publish = GRANTABLE.filter((x) => next.has(x));
    const ok = await this.send('set_grants', { participantId, publish });
    if (ok) this.granted.set(participantId, new Set(publish));
    return ok;
  }

  /** Takes every publish grant back. */
  async revokeAll(participantId) {
    const ok = await this.send('set_grants', { participantId, publish: [] });
    if (ok) this.granted.set(participantId, new Set());
    return ok;
  }

  muteAll() {
    return this.send('mute_all', { kinds: ['audio'] });
  }

  spotlight(participantId) {
    return this.send('spotlight', { participantId: participantId || '' });
  }

  settings(changes) {
    return this.send('room_settings', changes);
  }

  admit(participantId) {
    return this.send('admit', { participantId });
  }

  decline(participantId) {
    return this.send('decline', { participantId });
  }

  /** Mutes participantId's microphone (every unmuted microphone track of theirs). */
  async muteMicrophone(participantId) {
    const s = this.session();
    const mics = [...(s ? s.tracks.values() : [])].filter((t) => t.participantId === participantId && t.source === 'microphone');
    let ok = mics.length > 0;
    for (const t of mics) ok = (await this.send('mute_participant', { trackId: t.id, muted: true })) && ok;
    return ok;
  }

  remove(participantId) {
    return this.send('remove_participant', { participantId, ban: false });
  }

  /** Ends the room for everyone; our own session ends with it (room_closed). */
  endRoom() {
    this.endedByUs = true;
    // The ack usually arrives just before our own room_closed, or not at all.
    return this.send('end_room', {}, { quiet: true });
  }
}
