// app.js: the entry point; wires the screens to a Session.
//
// One job: own the page-level state (local media and its mute flags, the
// screen share, the current Session, what the host lets us publish, whether
// we are connected) and route between the join screen and the call screen.
// The invitation comes from the address (joinlink.js): a join link's
// #room=&token=, or ?room=, ?name=, ?camera=1080, ?autojoin=1 and ?token= so
// links (and the browser tests) can join directly.
//
// Grants (grants.js) decide which devices we ask for: none before joining
// when the invitation most likely lets us only watch, and after `joined` only
// those the server allows; a device the host allows later starts when the
// user presses its control.
//
// A dropped connection does not end the call: the call screen stays with a
// "Reconnecting…" banner while reconnect.js retries; each try is a new
// Session joining with the same token and name, which republishes our camera,
// microphone and screen share as they were (muted stays muted). Features
// (lobby, chat, ...) plug into every Session through `extensions`.
//
// During the call the Devices panel (devicepanel.js) switches the camera or
// microphone in place (devswitch.js) and the speaker.

import { Session } from './session.js';
import { getLocalMedia, getLocalTrack, stopStream } from './media.js';
import { ScreenFlow } from './screenflow.js';
import { JoinScreen, validate } from './join.js';
import { CallScreen } from './call.js';
import { Banners } from './banners.js';
import { exposeTestHooks } from './hooks.js';
import { readInvitation, callAddress } from './joinlink.js';
import { Extensions } from './extensions.js';
import { Reconnector, isTerminal } from './reconnect.js';
import { StatsMonitor } from './stats.js';
import { StatsPanel } from './statspanel.js';
import { DevicePanel } from './devicepanel.js';
import { switchDevice } from './devswitch.js';
import { qualityByParticipant } from './quality.js';
import { errorTitle, errorDetail } from './errors.js';
import { RoomUI } from './roomui.js';
import { translatePage, t } from './i18n.js';
import { CheckPanel } from './checkpanel.js';
import { InvitePanel } from './invite.js';
import { AloneCard } from './alone.js';
import { watchPanelSpace } from './panelspace.js';
import { invitationProblem, invitationProblemText, INVITATION_CODES } from './invitecheck.js';
import { EndPage } from './endpage.js';
import { RecordingUI } from './recording.js';
import { readRelaySwitch } from './icepolicy.js';
import {
  canPublish, canPublishMedia, expectedGrants, publishChanges, joinedText, changedText, moderatorText,
  SOURCE_OF_KIND, KIND_OF_SOURCE, WATCH_ONLY_JOIN_TEXT,
} from './grants.js';

const KINDS = ['audio', 'video'];

const local = {
  stream: null,
  mediaReady: null, // promise of the current getUserMedia attempt
  micMuted: false,
  camOff: false,
  // The grants we expect outside a call: the invitation's guess (grants.js),
  // then the last ones the server gave (an admin's change also applies to
  // our next join); null: everything (dev mode).
  expected: null,
  unavailable: { audio: false, video: false }, // asked for and not got: its control says "No mic"
  blocked: { audio: false, video: false }, // a moderator muted it: only the host can undo that
  starting: { audio: false, video: false }, // a mid-call getUserMedia is in progress
};
let session = null;
let last = null; // {room, name} of the last join, for Rejoin and reconnects
// The invitation's join token, kept in memory for rejoins and reconnects
// (joinlink.js takes it out of the address bar). Empty in dev mode, where
// local joins need none.
let joinToken = '';
/** The invitation read from the address at start (joinlink.js): its token's claims name the room and mode. */
let invitation = { token: '', claims: {}, room: '' };
let entering = false; // a join is in progress (guards double clicks and autojoin)
// 'idle' | 'joining' | 'connected' | 'reconnecting' | 'left': the call as the user sees it.
let connection = 'idle';

/** How long a reconnect waits for media to flow once joined before it tries again. */
const MEDIA_WAIT_MS = 20_000;

const $ = (id) => document.getElementById(id);
translatePage();
/** `?relay=`: support's switch forcing the relay (icepolicy.js), for every session of this page. */
const relay = readRelaySwitch();
const banners = new Banners($('banners'));
/** Feature modules register their message handlers and session hooks here (extensions.js). */
const extensions = new Extensions();
const join = new JoinScreen({
  onJoin: (room, name) => enter(room, name),
  onToggleMic: () => toggle('audio'),
  onToggleCam: () => toggle('video'),
  onRetryMedia: () => acquireMedia(),
  onQuality: () => acquireMedia(),
  onDevice: (kind, deviceId) => (kind === 'audiooutput' ? call.setAudioOutput(deviceId) : acquireMedia()),
});
const call = new CallScreen({
  onToggleMic: () => toggle('audio'),
  onToggleCam: () => toggle('video'),
  onToggleScreen: () => (screen.current ? screen.stop() : screen.start()),
  onLeave: () => leave(),
  onTrackSettings: (trackId, settings) => session?.setTrackSettings(trackId, settings),
});
call.setAudioOutput(join.devices.chosen('audiooutput'));
/** Our screen share (screenflow.js). */
const screen = new ScreenFlow({ session: () => session, call, banners });
const stats = new StatsMonitor(() => session);
stats.subscribe((sample) => call.setQualities(qualityByParticipant(sample)));
const statsPanel = new StatsPanel(
  { toggle: $('toggle-stats'), panel: $('stats-panel'), body: $('stats-body'), close: $('stats-close') },
  stats,
  (pid) => session?.participants.get(pid)?.name ?? '',
  relay,
);
/** The pre-join connectivity check (checkpanel.js), for the room and token the join would use. */
const netCheck = new CheckPanel(
  { section: $('net-check'), summary: $('net-check-summary'), paths: $('net-check-paths'), again: $('net-check-again') },
  { room: () => join.values().room, token: () => joinToken },
);
/** Switching camera, microphone and speaker during the call (devicepanel.js). */
const devicePanel = new DevicePanel({
  toggle: $('toggle-devices'), panel: $('device-panel'), close: $('device-close'),
  videoinput: $('call-camera-select'), audioinput: $('call-mic-select'), audiooutput: $('call-speaker-select'),
  hint: $('call-devices-hint'), error: $('call-devices-error'),
}, {
  stream: () => local.stream,
  shows: (kind) => controlState(kind) !== 'denied',
  switchTo: (kind, deviceId) => switchTo(kind, deviceId),
  speaker: (deviceId) => {
    call.setAudioOutput(deviceId);
    join.devices.refresh();
  },
  onOpen: () => closePanels(devicePanel),
});
// One panel at a time over the stage.
$('toggle-stats').addEventListener('click', () => devicePanel.setOpen(false));
const reconnector = new Reconnector({ attempt: () => reconnectOnce(), onState: onReconnectState });
/** The role workflows (lobby, chat, people, hands, host tools, the mode's layout): roomui.js. */
const roomUI = new RoomUI({ extensions, call, banners, connection: () => connection });
/** The page after a call ended for us (endpage.js). */
const endPage = new EndPage({
  // Rejoin means the same room as the same person: straight back in, with the camera asked for again.
  onRejoin: () => {
    acquireMedia();
    if (last) rejoin();
    else join.show();
  },
});
/** A host's "Invite" (invite.js): links made by the server for this room. */
const invitePanel = new InvitePanel(extensions, document.querySelector('.call-header__tools'));
/** Recording with everyone told (recording.js): Record/Stop for the record grant, the indicator, the consent prompt. */
new RecordingUI({ extensions, banners, connection: () => connection, header: document.querySelector('.call-header') });
/** Alone in the call: say so, and offer the invitation (alone.js). */
const alone = AloneCard.follow({ stage: $('stage'), invite: invitePanel, call, extensions, current: () => session });
watchPanelSpace($('call-screen'));
for (const id of ['toggle-people', 'toggle-chat']) $(id).addEventListener('click', () => devicePanel.setOpen(false));

exposeTestHooks({
  session: () => session,
  connection: () => connection,
  call, join, banners, stats, statsPanel, devicePanel, reconnector, room: roomUI, netCheck, endPage, alone,
});

/** Closes the stats and devices panels but keep; when keep opens, People and Chat close too. */
function closePanels(keep = null) {
  if (keep !== statsPanel) statsPanel.setOpen(false);
  if (keep !== devicePanel) devicePanel.setOpen(false);
  if (keep === null) return;
  roomUI.people.setOpen(false);
  roomUI.chat.setOpen(false);
}

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
  devicePanel.update();
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
    const { stream, message } = await getLocalMedia({
      quality: join.quality(),
      ...want,
      audioDevice: join.devices.chosen('audioinput'),
      videoDevice: join.devices.chosen('videoinput'),
    });
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
  const device = t(`device.noun.${kind}`);
  banners.dismiss(key);
  try {
    const deviceId = join.devices.chosen(kind === 'audio' ? 'audioinput' : 'videoinput');
    const { track, message } = await getLocalTrack(kind, { quality: join.quality(), deviceId });
    if (!track) {
      banners.show(key, { title: t('device.cannotUse', { device }), text: message, tone: 'warning' });
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
      banners.show(key, { title: t('device.cannotSend', { device }), text: err.message || String(err), tone: 'warning' });
    }
  } finally {
    local.starting[kind] = false;
  }
}

/** The Devices panel chose another microphone ('audio') or camera ('video'): devswitch.js. Resolves with why not, or null. */
async function switchTo(kind, deviceId) {
  const { switched, message } = await switchDevice(local.stream, kind, deviceId, {
    quality: join.quality(),
    muted: () => (kind === 'audio' ? local.micMuted : local.camOff),
    session: () => session,
  });
  if (switched) {
    call.setLocalStream(local.stream);
    showJoinMedia();
    renderLocal();
  }
  return message;
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
    if (source === 'screen') screen.end();
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
  // The link may have expired while the page stood open.
  if (checkInvitation()) return;
  const problem = validate(room, name);
  if (problem) {
    join.setError(problem);
    return;
  }
  if (entering || connection === 'reconnecting' || (session && (session.state === 'joining' || session.state === 'joined'))) return;
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
    // Per tab (kept across a reload): a second tab, often a second person testing, starts empty.
    sessionStorage.setItem('huddle.name', name);
  } catch {
    // Storage may be disabled (private mode); remembering the name is optional.
  }
  last = { room, name };

  // Joining before the camera answered would publish nothing.
  await local.mediaReady;
  netCheck.stop();

  reconnector.cancel();
  connection = 'joining';
  const s = newSession();
  // Show the call screen before joining so tiles from `joined` have a home.
  join.hide();
  call.show(room, name, local.stream);
  renderLocal();
  try {
    await s.join(room, name, local.stream, joinToken);
    if (session !== s) return;
    connection = 'connected';
    history.replaceState(null, '', callAddress(room));
    applyJoinGrants(s);
  } catch (err) {
    // Left on purpose while waiting in the lobby: leave() said so already.
    if (session !== s || connection === 'left') return;
    connection = 'left';
    call.hide();
    // Turned away from the lobby, or the call ended while we waited: the end page, not the form.
    if (err.code === 'lobby_declined' || err.code === 'room_closed') {
      endPage.show(err.code, roomUI.joinErrorText(err), [local.stream]);
      local.stream = null;
      return;
    }
    join.show();
    // A link the server refused: the plain words on top of the card, not a code under the form.
    if (INVITATION_CODES.includes(err.code)) {
      join.setInvitationProblem(invitationProblemText(err.code, invitation.claims));
      return;
    }
    // The form says why; a banner too would repeat it.
    join.setError(roomUI.joinErrorText(err) || t('join.failed', { detail: errorDetail(err.code, err.message || String(err)) || errorTitle(err.code) }));
  }
}

/** A new Session whose events drive the call screen while it is the current one. */
function newSession() {
  const s = new Session(undefined, { extensions, relay });
  session = s;
  local.blocked = { audio: false, video: false };
  const on = (type, fn) => s.addEventListener(type, (e) => {
    if (session === s) fn(e.detail);
  });
  // A reconnect's `joined` replaces the room: the old tiles' ids are gone.
  on('joined', () => call.clearRemote());
  on('participant', (d) => call.addParticipant(d.participant));
  on('participant-left', (d) => call.removeParticipant(d.participantId));
  on('media', (d) => call.setMedia(d.participantId, d.kind, d.track, d.trackId, d.group));
  on('muted', (d) => call.setMuted(d.participantId, d.kind, d.muted));
  on('screen', (d) => call.setScreen(d.participantId, d.present));
  on('stream-state', (d) => call.setStreamState(d.trackId, d));
  on('speakers', (d) => call.setSpeakers(d.speakers, s.participantId));
  on('error', (d) => showError(d));
  on('grants', (d) => onGrantsChanged(d));
  on('moderator-mute', (d) => onModeratorMute(d));
  on('media-failed', (d) => connectionLost(s, `${d.target} media connection failed`, null));
  on('closed', (d) => {
    if (!d.expected) connectionLost(s, `socket closed (${d.code})`, d.error);
  });
  extensions.announce(s);
  return s;
}

/**
 * The current session's connection dropped (socket closed or a
 * PeerConnection failed): reconnect, unless the server said not to
 * (errorCode terminal, e.g. removed), which ends the call with the reason.
 */
function connectionLost(s, reason, errorCode) {
  // During a join or a reconnect try, the try itself reports the failure.
  if (session !== s || connection !== 'connected') return;
  if (isTerminal(errorCode)) {
    endCall(errorCode, roomUI.endText(errorCode));
    return;
  }
  // A failed PC with the socket still open: tell the server we go, so it
  // does not keep a ghost of us until its timeout.
  s.leave();
  connection = 'reconnecting';
  reconnector.start(reason);
}

/** One reconnect try: join again with the same token and name, republish, wait for media. */
async function reconnectOnce() {
  const s = newSession();
  await s.join(last.room, last.name, local.stream, joinToken);
  if (session !== s) throw Object.assign(new Error('superseded'), { code: 'cancelled' });
  applyJoinGrants(s);
  // The stream's tracks kept their `enabled` flags, so the publisher sends
  // our mute state with the offer; the screen share needs its own offer.
  const shared = screen.current;
  if (shared && canPublish(s.grants, 'screen')) {
    s.publishScreen(shared.track, shared.stream).catch((err) => {
      if (screen.current === shared) screen.end();
      showError({ code: err.code || 'client', message: t('screen.again', { detail: err.message || String(err) }) });
    });
  } else if (shared) {
    screen.end();
  }
  try {
    await s.waitForMedia(MEDIA_WAIT_MS);
  } catch (err) {
    s.leave();
    throw err;
  }
}

function onReconnectState(state, info) {
  switch (state) {
    case 'reconnecting':
      connection = 'reconnecting';
      call.setReconnecting(info);
      break;
    case 'connected':
      connection = 'connected';
      call.setReconnecting(null);
      console.info(`huddle: reconnected after ${info.tookMs} ms (${info.attempts} attempts)`);
      break;
    case 'refused': {
      // A refused join carries its reason in the reply, not as an `error` event.
      const { code, message } = info.error;
      endCall(code, roomUI.endText(code), errorDetail(code, message));
      break;
    }
    default: // gave-up
      endCall('lost', t('call.lost.lead'));
  }
}

/**
 * Ends the call without the user asking. The end page alone says why (code, in the room's words when
 * text is given; detail is the server's message), so nothing repeats it in a banner.
 */
function endCall(code, text, detail = '') {
  reconnector.cancel();
  connection = 'left';
  closePanels();
  session?.leave();
  screen.end();
  call.hide();
  banners.clear();
  // The camera and microphone go at once; Rejoin asks for them again.
  endPage.show(code, text, [local.stream], detail);
  local.stream = null;
}

function rejoin() {
  if (last) enter(last.room, last.name);
}

function leave() {
  if (!session) return;
  const room = session.room || last?.room;
  reconnector.cancel();
  connection = 'left';
  closePanels();
  screen.end();
  session.leave();
  call.hide();
  banners.clear();
  join.show(t('join.left', { room }));
  join.focusFirst();
}

function showError({ code, message }) {
  // The reconnect banner already says the connection dropped.
  if (code === 'media_failed') return;
  banners.show(`error:${code}`, { title: errorTitle(code), text: errorDetail(code, message), tone: 'error' });
}

/** Tells the person at once when their link cannot work (invitecheck.js); true when it cannot. */
function checkInvitation() {
  const code = invitationProblem(invitation, Date.now());
  join.setInvitationProblem(code ? invitationProblemText(code, invitation.claims) : null);
  return !!code;
}

function init() {
  const inv = readInvitation();
  invitation = inv;
  joinToken = inv.token;
  let name = inv.name;
  if (!name) {
    try {
      name = sessionStorage.getItem('huddle.name') || '';
    } catch {
      name = '';
    }
  }
  join.prefill(inv.room, name, inv.camera);
  roomUI.setInvitation(inv.claims);
  // A link names the room, and the token's name is the one the server uses:
  // editing either would only mislead.
  if (inv.fromLink && inv.room) join.lockRoom();
  if (inv.tokenName) join.lockName();
  local.expected = expectedGrants(inv.claims);
  // A host's link (or dev mode, where this machine is trusted as a host) may invite before joining.
  const hostLink = inv.claims.role === 'host' || !!(inv.claims.grants && inv.claims.grants.moderate);
  invitePanel.offerBeforeJoining($('prejoin-invite'), () => join.values().room, inv.token, inv.token ? hostLink : true);
  renderLocal();
  // A link that cannot work: say so and stop there. Nothing can come of it, so no camera is asked for.
  if (checkInvitation()) return;
  // Someone invited to watch is not asked for a camera at all; if the guess
  // is wrong, `joined` says so and the controls offer the devices.
  if (canPublishMedia(local.expected)) acquireMedia();
  else join.setReceiveOnly(WATCH_ONLY_JOIN_TEXT);
  if (inv.autojoin) {
    const { room, name: n } = join.values();
    enter(room, n);
  } else {
    join.focusFirst();
    netCheck.start();
  }
}

init();
