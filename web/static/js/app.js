// app.js: the entry point; wires the screens to a Session.
//
// One job: own the page-level state (local media and its mute flags, the
// screen share, the current Session) and route between the join screen and
// the call screen. Reads ?room=, ?name=, ?camera=1080, ?autojoin=1 and
// ?token= (an invitation's join token) so links (and the browser tests) can
// join directly.

import { Session } from './session.js';
import { getLocalMedia, stopStream } from './media.js';
import { getScreen } from './screenshare.js';
import { JoinScreen, validate } from './join.js';
import { CallScreen } from './call.js';
import { Banners } from './banners.js';
import { exposeTestHooks } from './hooks.js';

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
  onToggleMic: () => setMic(!local.micMuted),
  onToggleCam: () => setCam(!local.camOff),
  onRetryMedia: () => acquireMedia(),
  onQuality: () => acquireMedia(),
});
const call = new CallScreen({
  onToggleMic: () => setMic(!local.micMuted),
  onToggleCam: () => setCam(!local.camOff),
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
});

function hasKind(kind) {
  return !!local.stream && (kind === 'audio' ? local.stream.getAudioTracks() : local.stream.getVideoTracks()).length > 0;
}

function renderLocal() {
  join.setToggles(local.micMuted, local.camOff);
  call.setLocalState({ micMuted: local.micMuted, camOff: local.camOff, hasAudio: hasKind('audio'), hasVideo: hasKind('video') });
}

function setMic(muted) {
  local.micMuted = muted;
  for (const t of local.stream?.getAudioTracks() || []) t.enabled = !muted;
  session?.setMuted('audio', muted);
  renderLocal();
}

function setCam(off) {
  local.camOff = off;
  // enabled=false sends black frames and keeps the camera ready for a quick
  // switch back; the `mute` message lets others show an avatar instead.
  for (const t of local.stream?.getVideoTracks() || []) t.enabled = !off;
  session?.setMuted('video', off);
  renderLocal();
}

function acquireMedia() {
  join.setMediaPending();
  local.mediaReady = (async () => {
    stopStream(local.stream);
    const { stream, message } = await getLocalMedia({ quality: join.quality() });
    local.stream = stream;
    // Keep the user's choices across a retry.
    for (const t of stream?.getAudioTracks() || []) t.enabled = !local.micMuted;
    for (const t of stream?.getVideoTracks() || []) t.enabled = !local.camOff;
    join.setMedia(stream, message);
    renderLocal();
  })();
  return local.mediaReady;
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
  renderLocal();
  acquireMedia();
  if (q.get('autojoin') === '1' && q.get('room') && q.get('name')) {
    const { room, name: n } = join.values();
    enter(room, n);
  } else {
    join.focusFirst();
  }
}

init();
