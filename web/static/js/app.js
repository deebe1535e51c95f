// app.js: the entry point; wires the screens to a Session.
//
// One job: own the page-level state (local media and its mute flags, the
// screen share, the current Session, what the host lets us publish) and route
// between the join screen and the call screen. Reads ?room=, ?name=,
// ?camera=1080, ?autojoin=1 and ?token= (an invitation's join token) so links
// (and the browser tests) can join directly.
//
// Grants (grants.js) decide which devices we ask for: none before joining
// when the invitation most likely lets us only watch, and after `joined` only
// those the server allows; a device the host allows later starts when the
// user presses its control.

import { Session } from './session.js';
import { getLocalMedia, getLocalTrack, stopStream } from './media.js';
import { getScreen } from './screenshare.js';
import { JoinScreen, validate } from './join.js';
import { CallScreen } from './call.js';
import { Banners } from './banners.js';
import { exposeTestHooks } from './hooks.js';
import {
  canPublish, canPublishMedia, expectedGrants, publishChanges, joinedText, changedText, moderatorText,
  SOURCE_OF_KIND, KIND_OF_SOURCE, WATCH_ONLY_JOIN_TEXT,
} from './grants.js';

const KINDS = ['audio', 'video'];

// Friendly titles for the server's error codes (signaling/PROTOCOL.md).
const ERROR_TITLES = {
  media_failed: 'Media connection failed.',
  invalid_sdp: 'Media setup was refused.',
  negotiation_failed: 'Media setup failed.',
  unsupported_version: 'This page is out of date.',
  bad_request: 'Request refused.',
  internal: 'Server problem.',
  token_missing: 'This room needs an invitation link.',
  token_malformed: 'The invitation link is damaged.',
  token_invalid: 'The invitation link is not valid here.',
  token_expired: 'The invitation link has expired.',
  token_not_yet_valid: 'The invitation link is not valid yet.',
  token_wrong_room: 'The invitation is for another room.',
  insufficient_grant: 'Not allowed.',
  banned: 'You may not join this room.',
  room_full: 'The room is full.',
  room_locked: 'The room is locked.',
  removed: 'You were removed from the room.',
  room_closed: 'The room was closed.',
};

const local = {
  stream: null,
  mediaReady: null, // promise of the current getUserMedia attempt
  micMuted: false,
  camOff: false,
  screen: null, // {stream, track} while we share a screen
  // The grants we expect outside a call: the invitation's guess (grants.js),
  // then the last ones the server gave (an admin's change also applies to
  // our next join); null: everything (dev mode).
  expected: null,
  unavailable: { audio: false, video: false }, // asked for and not got: its control says "No mic"
  blocked: { audio: false, video: false }, // a moderator muted it: only the host can undo that
  starting: { audio: false, video: false }, // a mid-call getUserMedia is in progress
};
let session = null;
let last = null; // {room, name} of the last join, for Rejoin
// The invitation's join token (?token=), kept in memory for rejoins after the
// URL no longer shows it. Empty in dev mode, where local joins need none.
let joinToken = '';
let entering = false; // a join is in progress (guards double clicks and autojoin)

const banners = new Banners(document.getElementById('banners'));
const join = new JoinScreen({
  onJoin: (room, name) => enter(room, name),
  onToggleMic: () => toggle('audio'),
  onToggleCam: () => toggle('video'),
  onRetryMedia: () => acquireMedia(),
  onQuality: () => acquireMedia(),
});
const call = new CallScreen({
  onToggleMic: () => toggle('audio'),
  onToggleCam: () => toggle('video'),
  onToggleScreen: () => (local.screen ? stopScreen() : startScreen()),
  onLeave: () => leave(),
  onTrackSettings: (trackId, settings) => session?.setTrackSettings(trackId, settings),
});

exposeTestHooks({
  state: () => (session ? session.state : 'idle'),
  participantId: () => session?.participantId ?? null,
  remoteTiles: () => call.remoteTiles(),
  stats: () => (session ? session.stats() : Promise.resolve([])),
  banners: () => banners.texts(),
  setTrackSettings: (trackId, settings) => {
    // From now on adaptive stream leaves this track alone, so a test's
    // settings are not overwritten by the next resize.
    call.adaptive.hold(trackId);
    return !!session?.setTrackSettings(trackId, settings);
  },
  adaptiveSettings: (trackId) => call.adaptive.lastSent(trackId),
  remoteVideoStats: () => (session ? session.remoteVideoStats() : Promise.resolve([])),
  localVideoStats: () => (session ? session.localVideoStats() : Promise.resolve([])),
  declaredLayers: (trackId) => session?.publisher?.declaredLayers(trackId) ?? null,
  speakers: () => (session ? session.speakers : []),
  screenTrackId: () => session?.publisher?.trackIdOf('screen') ?? null,
  cameraTrackId: () => session?.publisher?.trackIdOf('video') ?? null,
  grants: () => session?.grants ?? null,
});

function hasKind(kind) {
  return !!local.stream && (kind === 'audio' ? local.stream.getAudioTracks() : local.stream.getVideoTracks()).length > 0;
}

/** The grants that apply now: the server's once joined, else the invitation's guess. */
function grantsNow() {
  return session && session.state === 'joined' ? session.grants : local.expected;
}

/** What the mic ('audio') or camera ('video') control can do now (see icons.js). */
function controlState(kind) {
  if (!canPublish(grantsNow(), SOURCE_OF_KIND[kind])) return 'denied';
  if (local.blocked[kind]) return 'blocked';
  if (hasKind(kind)) return 'ready';
  return local.unavailable[kind] ? 'missing' : 'offer';
}

function renderLocal() {
  join.setToggles(local.micMuted, local.camOff);
  call.setLocalState({ micMuted: local.micMuted, camOff: local.camOff, mic: controlState('audio'), cam: controlState('video') });
  call.setScreenAllowed(canPublish(grantsNow(), 'screen'));
}

/** A press on the mic or camera control. Locked ones (aria-disabled) still get clicks: those do nothing. */
function toggle(kind) {
  const state = controlState(kind);
  if (state === 'offer') startTrack(kind);
  else if (state === 'ready') (kind === 'audio' ? setMic(!local.micMuted) : setCam(!local.camOff));
}

function setMic(muted) {
  if (!muted && local.blocked.audio) return; // the server would refuse it
  local.micMuted = muted;
  for (const t of local.stream?.getAudioTracks() || []) t.enabled = !muted;
  session?.setMuted('audio', muted);
  renderLocal();
}

function setCam(off) {
  if (!off && local.blocked.video) return;
  local.camOff = off;
  // enabled=false sends black frames and keeps the camera ready for a quick
  // switch back; the `mute` message lets others show an avatar instead.
  for (const t of local.stream?.getVideoTracks() || []) t.enabled = !off;
  session?.setMuted('video', off);
  renderLocal();
}

/** Asks for the camera and microphone (those the invitation most likely allows) for the preview. */
function acquireMedia() {
  join.setMediaPending();
  const want = { audio: canPublish(local.expected, 'microphone'), video: canPublish(local.expected, 'camera') };
  local.mediaReady = (async () => {
    stopStream(local.stream);
    const { stream, message } = await getLocalMedia({ quality: join.quality(), ...want });
    local.stream = stream;
    for (const kind of KINDS) local.unavailable[kind] = want[kind] && !hasKind(kind);
    // Keep the user's choices across a retry.
    for (const t of stream?.getAudioTracks() || []) t.enabled = !local.micMuted;
    for (const t of stream?.getVideoTracks() || []) t.enabled = !local.camOff;
    join.setMedia(stream, message);
    renderLocal();
  })();
  return local.mediaReady;
}

/**
 * Starts the device of kind that the host allowed during the call (the user
 * pressed its control) and publishes it. The browser may ask for
 * permission now: the user asked for it.
 */
async function startTrack(kind) {
  const s = session;
  if (!s || s.state !== 'joined' || local.starting[kind]) return;
  local.starting[kind] = true;
  const key = `device:${kind}`;
  const what = kind === 'audio' ? 'microphone' : 'camera';
  banners.dismiss(key);
  try {
    const { track, message } = await getLocalTrack(kind, { quality: join.quality() });
    if (!track) {
      banners.show(key, { title: `Cannot use the ${what}.`, text: message, tone: 'warning' });
      return;
    }
    // The call may have ended, or the host changed their mind, while the browser asked.
    if (session !== s || s.state !== 'joined' || controlState(kind) !== 'offer') {
      track.stop();
      return;
    }
    if (!local.stream) local.stream = new MediaStream();
    local.stream.addTrack(track);
    // Pressing "Unmute" / "Start video" means: on.
    if (kind === 'audio') local.micMuted = false;
    else local.camOff = false;
    track.enabled = true;
    call.setLocalStream(local.stream);
    showJoinMedia();
    renderLocal();
    await s.publishTrack(track, local.stream);
  } catch (err) {
    if (session === s && s.state === 'joined' && err.code !== 'closed') {
      banners.show(key, { title: `Cannot send your ${what}.`, text: err.message || String(err), tone: 'warning' });
    }
  } finally {
    local.starting[kind] = false;
  }
}

/**
 * Stops and forgets our local track of kind: the server no longer lets us
 * publish it (the publisher already stopped sending it), so the device is
 * released and its light goes off.
 */
function dropLocal(kind) {
  local.blocked[kind] = false;
  const tracks = local.stream ? (kind === 'audio' ? local.stream.getAudioTracks() : local.stream.getVideoTracks()) : [];
  if (tracks.length === 0) return;
  for (const t of tracks) {
    t.stop();
    local.stream.removeTrack(t);
  }
  call.setLocalStream(local.stream);
  showJoinMedia();
}

/** Brings the join screen's preview (seen again after leaving) in step with our devices and grants. */
function showJoinMedia() {
  if (!hasKind('audio') && !hasKind('video') && !canPublishMedia(local.expected)) join.setReceiveOnly(WATCH_ONLY_JOIN_TEXT);
  else join.setMedia(local.stream, null);
}

/** After `joined`: release what we may not publish and say what we may do. */
function applyJoinGrants(s) {
  local.expected = s.grants;
  const missing = [];
  for (const kind of KINDS) {
    const source = SOURCE_OF_KIND[kind];
    // Asked for on a wrong guess (the room's mode was not in the invitation).
    if (!canPublish(s.grants, source)) dropLocal(kind);
    else if (!hasKind(kind) && !local.unavailable[kind]) missing.push(source);
  }
  call.setStatus(joinedText(s.grants, missing));
  renderLocal();
}

/** An admin changed our grants (`grants_changed`); the session already stopped sending what they took away. */
function onGrantsChanged({ grants, previous }) {
  local.expected = grants;
  const changes = publishChanges(previous, grants);
  for (const source of changes.removed) {
    if (source === 'screen') endScreen();
    else dropLocal(KIND_OF_SOURCE[source]);
  }
  const text = changedText(grants, changes);
  if (text) call.setStatus(text);
  renderLocal();
}

/** A moderator muted or unmuted one of our tracks (`muted_by_moderator`). */
function onModeratorMute({ source, muted }) {
  const kind = KIND_OF_SOURCE[source];
  if (kind) {
    // Blank it here too, so nothing leaves this device. When the host lifts
    // the mute it stays muted until the user unmutes (privacy): the
    // control only works again.
    if (muted) (kind === 'audio' ? setMic(true) : setCam(true));
    local.blocked[kind] = muted;
  }
  call.setStatus(moderatorText(source, muted));
  renderLocal();
}

async function enter(room, name) {
  const problem = validate(room, name);
  if (problem) {
    join.setError(problem);
    return;
  }
  if (entering || (session && (session.state === 'joining' || session.state === 'joined'))) return;
  entering = true;
  try {
    await joinRoom(room, name);
  } finally {
    entering = false;
  }
}

async function joinRoom(room, name) {
  join.setError(null);
  join.setBusy(true);
  // Messages about a previous session do not apply to the new one.
  banners.clear();
  try {
    localStorage.setItem('huddle.name', name);
  } catch {
    // Storage may be disabled (private mode); remembering the name is optional.
  }
  last = { room, name };

  // Joining before the camera answered would publish nothing.
  await local.mediaReady;

  const s = new Session();
  session = s;
  local.blocked = { audio: false, video: false };
  s.addEventListener('participant', (e) => call.addParticipant(e.detail.participant));
  s.addEventListener('participant-left', (e) => call.removeParticipant(e.detail.participantId));
  s.addEventListener('media', (e) => {
    const d = e.detail;
    call.setMedia(d.participantId, d.kind, d.track, d.trackId, d.group);
  });
  s.addEventListener('muted', (e) => call.setMuted(e.detail.participantId, e.detail.kind, e.detail.muted));
  s.addEventListener('screen', (e) => call.setScreen(e.detail.participantId, e.detail.present));
  s.addEventListener('stream-state', (e) => call.setStreamState(e.detail.trackId, e.detail));
  s.addEventListener('speakers', (e) => call.setSpeakers(e.detail.speakers, s.participantId));
  s.addEventListener('error', (e) => showError(e.detail));
  s.addEventListener('grants', (e) => {
    if (session === s) onGrantsChanged(e.detail);
  });
  s.addEventListener('moderator-mute', (e) => {
    if (session === s) onModeratorMute(e.detail);
  });
  s.addEventListener('closed', (e) => {
    if (session !== s || e.detail.expected) return;
    endScreen();
    call.hide();
    join.show('The connection to the server was lost.');
    banners.show('lost', {
      title: 'Connection lost.',
      text: 'You are no longer in the room.',
      tone: 'warning',
      actions: [{ label: 'Rejoin', onClick: () => rejoin() }],
    });
  });

  // Show the call screen before joining so tiles from `joined` have a home.
  join.hide();
  call.show(room, name, local.stream);
  renderLocal();
  try {
    await s.join(room, name, local.stream, joinToken);
    history.replaceState(null, '', `?room=${encodeURIComponent(room)}`);
    if (session === s) applyJoinGrants(s);
  } catch (err) {
    if (session !== s) return;
    call.hide();
    join.show();
    // The form says why; a banner too would repeat it.
    join.setError(`Could not join: ${err.message || err}`);
  }
}

/** Asks for a screen and publishes it; the user may cancel the browser's picker. */
async function startScreen() {
  const s = session;
  if (!s || s.state !== 'joined' || local.screen) return;
  banners.dismiss('screen');
  const { stream, track, message } = await getScreen();
  if (!track) {
    if (message) banners.show('screen', { title: 'Cannot share the screen.', text: message, tone: 'warning' });
    return;
  }
  if (session !== s || s.state !== 'joined' || local.screen) {
    stopStream(stream);
    return;
  }
  local.screen = { stream, track };
  // The browser's own "Stop sharing" bar ends the track without us.
  track.addEventListener('ended', () => {
    if (local.screen && local.screen.track === track) stopScreen();
  });
  call.setScreenSharing(true);
  call.setLocalScreen(track);
  try {
    await s.publishScreen(track, stream);
  } catch (err) {
    if (local.screen && local.screen.track === track) endScreen();
    if (session === s && s.state === 'joined') {
      banners.show('screen', { title: 'Cannot share the screen.', text: err.message || String(err), tone: 'warning' });
    }
  }
}

/** Stops our screen share: unpublishes it and releases the capture. */
function stopScreen() {
  if (!local.screen) return;
  session?.unpublishScreen();
  endScreen();
}

/** Forgets the local screen share (the session, if any, is already done with it). */
function endScreen() {
  if (!local.screen) return;
  stopStream(local.screen.stream);
  local.screen = null;
  call.setLocalScreen(null);
  call.setScreenSharing(false);
}

function rejoin() {
  if (last) enter(last.room, last.name);
}

function leave() {
  if (!session) return;
  const room = session.room || last?.room;
  endScreen();
  session.leave();
  call.hide();
  banners.clear();
  join.show(`You left ${room}. Join again or enter another room.`);
  join.focusFirst();
}

function showError({ code, message }) {
  banners.show(`error:${code}`, {
    title: ERROR_TITLES[code] || 'Something went wrong.',
    text: message || code,
    tone: 'error',
  });
}

/**
 * The claims of a join token, read (not verified: the server does that) to
 * fill in the form. {} when the token cannot be read.
 */
function tokenClaims(token) {
  try {
    const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) || {};
  } catch {
    return {};
  }
}

function init() {
  const q = new URLSearchParams(location.search);
  joinToken = q.get('token') || '';
  const claims = joinToken ? tokenClaims(joinToken) : {};
  let name = q.get('name') || (typeof claims.name === 'string' ? claims.name : '');
  if (!name) {
    try {
      name = localStorage.getItem('huddle.name') || '';
    } catch {
      name = '';
    }
  }
  join.prefill(q.get('room') || (typeof claims.room === 'string' ? claims.room : ''), name, q.get('camera') || '');
  local.expected = expectedGrants(claims);
  renderLocal();
  // Someone invited to watch is not asked for a camera at all; if the guess
  // is wrong, `joined` says so and the controls offer the devices.
  if (canPublishMedia(local.expected)) acquireMedia();
  else join.setReceiveOnly(WATCH_ONLY_JOIN_TEXT);
  if (q.get('autojoin') === '1' && q.get('room') && q.get('name')) {
    const { room, name: n } = join.values();
    enter(room, n);
  } else {
    join.focusFirst();
  }
}

init();
