// app.js: the entry point; wires the screens to a Session.
//
// One job: own the page-level state (local media and its mute flags, the
// current Session) and route between the join screen and the call screen.
// Reads ?room=, ?name= and ?autojoin=1 so links (and the browser tests) can
// join directly.

import { Session } from './session.js';
import { getLocalMedia, stopStream } from './media.js';
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
};

const local = {
  stream: null,
  mediaReady: null, // promise of the current getUserMedia attempt
  micMuted: false,
  camOff: false,
};
let session = null;
let last = null; // {room, name} of the last join, for Rejoin
let entering = false; // a join is in progress (guards double clicks and autojoin)

const banners = new Banners(document.getElementById('banners'));
const join = new JoinScreen({
  onJoin: (room, name) => enter(room, name),
  onToggleMic: () => setMic(!local.micMuted),
  onToggleCam: () => setCam(!local.camOff),
  onRetryMedia: () => acquireMedia(),
});
const call = new CallScreen({
  onToggleMic: () => setMic(!local.micMuted),
  onToggleCam: () => setCam(!local.camOff),
  onLeave: () => leave(),
});

exposeTestHooks({
  state: () => (session ? session.state : 'idle'),
  participantId: () => session?.participantId ?? null,
  remoteTiles: () => call.remoteTiles(),
  stats: () => (session ? session.stats() : Promise.resolve([])),
  banners: () => banners.texts(),
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
    const { stream, message } = await getLocalMedia();
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
  s.addEventListener('media', (e) => call.setMedia(e.detail.participantId, e.detail.kind, e.detail.track));
  s.addEventListener('muted', (e) => call.setMuted(e.detail.participantId, e.detail.kind, e.detail.muted));
  s.addEventListener('error', (e) => showError(e.detail));
  s.addEventListener('closed', (e) => {
    if (session !== s || e.detail.expected) return;
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
    await s.join(room, name, local.stream);
    history.replaceState(null, '', `?room=${encodeURIComponent(room)}`);
  } catch (err) {
    if (session !== s) return;
    call.hide();
    join.show();
    // The form says why; a banner too would repeat it.
    join.setError(`Could not join: ${err.message || err}`);
  }
}

function rejoin() {
  if (last) enter(last.room, last.name);
}

function leave() {
  if (!session) return;
  const room = session.room || last?.room;
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

function init() {
  const q = new URLSearchParams(location.search);
  let name = q.get('name') || '';
  if (!name) {
    try {
      name = localStorage.getItem('huddle.name') || '';
    } catch {
      name = '';
    }
  }
  join.prefill(q.get('room') || '', name);
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
