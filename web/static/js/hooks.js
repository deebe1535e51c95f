// hooks.js: the `window.huddle` object for automated tests.
//
// One job: let browser tests (web/browser_*_test.go) observe the client
// without scraping the DOM or logging: the session and connection state, our
// participant id, the remote tiles, per-track receive and send statistics,
// who speaks, what the server lets us do (grants), reconnects, the
// microphone level and device lists (the join screen's and the call's
// Devices panel), what our publish PC sends, the layout.
// A few hooks act, each to make a test deterministic: setTrackSettings (sends
// `track_settings` by hand and takes that track away from adaptive stream),
// setReconnectGiveUp (shortens the 2-minute reconnect window), setSpeakerView
// and setPageSize (the layout a test needs), tryPublish (the publish path
// without the client's own grant check, to see the server refuse). Nothing
// else here changes the call.
// The room features (issue 7: lobby, waiting list, chat, people, hands, the
// mode's layout) are observed through room(); the connectivity check (issue
// 13) through netCheck() and connectionPath(); recording (the indicator, the
// consent dialog, the Record button) through recording().

import { t } from './i18n.js';
import { recordingSnapshot } from './recording.js';

/**
 * @param {{session(): import('./session.js').Session|null, connection(): string,
 *          call: import('./call.js').CallScreen, join: import('./join.js').JoinScreen,
 *          banners: import('./banners.js').Banners, stats: import('./stats.js').StatsMonitor,
 *          statsPanel: import('./statspanel.js').StatsPanel,
 *          devicePanel: import('./devicepanel.js').DevicePanel,
 *          reconnector: import('./reconnect.js').Reconnector,
 *          room: import('./roomui.js').RoomUI,
 *          netCheck: import('./checkpanel.js').CheckPanel}} app
 */
export function exposeTestHooks(app) {
  const { call, join, banners, stats, statsPanel, devicePanel, reconnector } = app;
  const session = () => app.session();
  const hooks = {
    /** 'idle' | 'joining' | 'joined' | 'reconnecting' | 'left' */
    get state() {
      if (app.connection() === 'reconnecting') return 'reconnecting';
      return session() ? session().state : 'idle';
    },
    get participantId() {
      return session()?.participantId ?? null;
    },
    /** 'idle' | 'joining' | 'connected' | 'reconnecting' | 'left': the call as the user sees it. */
    connectionState: () => app.connection(),
    /**
     * [{participantId, tileId, name, screen, trackId, videoWidth, videoHeight, pinned,
     *   featured, speaking, onPage, quality, streamState, layer, notice, priority}]
     */
    remoteTiles: () => call.remoteTiles(),
    /** Promise of [{trackId, kind, framesDecoded, framesPerSecond, frameWidth, frameHeight, bytesReceived}] */
    stats: () => (session() ? session().stats() : Promise.resolve([])),
    /** Texts of the banners on screen (errors, connection lost). */
    banners: () => banners.texts(),
    /**
     * Sends `track_settings` {trackId, ...settings} for a track we receive
     * (e.g. {maxLayer: 'q'}) and stops adaptive stream from sending any for
     * it afterwards. Returns whether it was sent.
     */
    setTrackSettings: (trackId, settings = {}) => {
      call.adaptive.hold(trackId);
      return !!session()?.setTrackSettings(trackId, settings);
    },
    /** The settings adaptive stream last sent for trackId, or null. */
    adaptiveSettings: (trackId) => call.adaptive.lastSent(trackId),
    /**
     * Promise of [{trackId, participantId, source, frameWidth, frameHeight, framesDecoded,
     * framesPerSecond, bytesReceived, layer, state, reason}] per video track received;
     * layer/state/reason from the latest `stream_state`.
     */
    remoteVideoStats: () => (session() ? session().remoteVideoStats() : Promise.resolve([])),
    /**
     * Promise of [{trackId, source, rid, frameWidth, frameHeight, framesEncoded,
     * framesPerSecond, bytesSent, active, maxBitrate, maxFramerate, qualityLimitationReason}]
     * per encoding we send.
     */
    localVideoStats: () => (session() ? session().localVideoStats() : Promise.resolve([])),
    /** Promise of the browser's estimate of the publish bandwidth in bits/s, or null. */
    sendBandwidth: () => session()?.publisher?.sendBandwidth() ?? Promise.resolve(null),
    /** The simulcast layers we declared in publish_offer for our track trackId. */
    declaredLayers: (trackId) => session()?.publisher?.declaredLayers(trackId) ?? null,
    /** The latest `active_speakers` list: [{participantId, level}], loudest first. */
    speakers: () => session()?.speakers ?? [],
    /** The server's id of our screen share / camera track, or null. */
    screenTrackId: () => session()?.publisher?.trackIdOf('screen') ?? null,
    cameraTrackId: () => session()?.publisher?.trackIdOf('video') ?? null,
    /**
     * Our current grants: {publish: [sources], subscribe, chat, moderate, admin}
     * from `joined`, updated by `grants_changed`; null before joining.
     */
    grants: () => session()?.grants ?? null,
    /** {count: reconnects that succeeded, attempts: tries made, lastTookMs: lost -> back, of the last one} */
    reconnects: () => ({ count: reconnector.reconnects, attempts: reconnector.totalTries, lastTookMs: reconnector.lastTookMs }),
    /** Gives up reconnecting after ms instead of 2 minutes (tests of the "connection lost" path). */
    setReconnectGiveUp: (ms) => {
      reconnector.giveUpMs = ms;
      return true;
    },
    /** The join screen's microphone level, 0..1. */
    micLevel: () => join.meter.level(),
    /** {videoinput: [{id, label}], audioinput: [...], audiooutput: [...], selected: {kind: id}} */
    devices: () => join.devices.snapshot(),
    /**
     * The call's Devices panel: {open, shown: {videoinput, audioinput, audiooutput},
     * devices: {videoinput: [{id, label}], ..., selected: {kind: id}}, error, busy}.
     */
    devicePanel: () => devicePanel.snapshot(),
    /**
     * What the publish PC sends: {transceivers: count on the PC, sources: [{source, trackId (the
     * server's), mid, localId, label, deviceId, readyState, enabled (of the MediaStreamTrack the
     * sender sends), muted, blocked, rids: [encodings' rids], active: [encodings' active flags]}]}.
     */
    published: () => {
      const p = session()?.publisher;
      if (!p) return { transceivers: 0, sources: [] };
      return {
        transceivers: p.peer.pc.getTransceivers().length,
        sources: [...p.local].map(([source, e]) => {
          const t = e.transceiver.sender.track;
          const encodings = e.transceiver.sender.getParameters().encodings || [];
          return {
            source, trackId: e.trackId, mid: e.transceiver.mid, localId: t?.id ?? '', label: t?.label ?? '',
            deviceId: t?.getSettings().deviceId ?? '', readyState: t?.readyState ?? '', enabled: !!t?.enabled,
            muted: e.muted, blocked: e.blocked,
            rids: encodings.map((x) => x.rid || ''), active: encodings.map((x) => x.active !== false),
          };
        }),
      };
    },
    /** {view: 'grid'|'speaker', featured, page, pages, visible: [tile ids on the page]} */
    layout: () => call.layoutState(),
    /** Switches speaker view on or off; returns layout(). */
    setSpeakerView: (on) => {
      call.setSpeakerView(on);
      return call.layoutState();
    },
    /** Tiles per grid page (0: by screen width); returns layout(). */
    setPageSize: (n) => {
      call.grid.pageSizeOverride = n;
      call.grid.layout();
      return call.layoutState();
    },
    /** Promise of a fresh stats sample {at, rows, rtt, state} (stats.js). */
    statsSample: () => stats.poll(),
    /** Whether the connection details panel is open. */
    statsPanelOpen: () => statsPanel.open,
    /**
     * The room as the page shows it (roomui.js): {mode, moderator, lobby: {waiting, message, since},
     * waiting: [lobby waiters], roomState, people: [{id, name, role, roleLabel, self, mic, hand, spotlight, tile}],
     * chat: {open, unread, allowed, inputDisabled, note, messages}, layout: {mode, inset, spotlight, tiles},
     * roster: [{participantId, name, hand, maySpeak}] (a classroom teacher's strip of students, roster.js;
     * empty for everyone else), confirm: {open, title}, announced}.
     */
    room: () => app.room.snapshot(),
    /**
     * The pre-join connectivity check: {verdict (catalogue key), summary (the
     * text shown), paths: [{id, state, rtt}] or null}.
     */
    netCheck: () => ({
      verdict: app.netCheck.verdict,
      summary: document.getElementById('net-check-summary').textContent,
      paths: app.netCheck.results,
    }),
    /**
     * Promise of how each PC reaches the server now (stats.js selectedPath):
     * {publish, subscribe}, each {type, protocol, relayProtocol} or null.
     */
    connectionPath: async () => {
      const sample = await stats.poll();
      return sample && sample.path ? sample.path : { publish: null, subscribe: null };
    },
    /** The URL of the current session's signalling socket (ws:// or wss://), or ''. */
    socketURL: () => session()?.signaling?.ws?.url ?? '',
    /** The end page (endpage.js): {shown, code, title, rejoin, tracks: readyState of the released tracks}. */
    endPage: () => app.endPage.snapshot(),
    /** The card shown while we are alone in the call (alone.js): {shown, invite, text}. */
    alone: () => app.alone.snapshot(),
    /**
     * Recording as the page shows it (recording.js, read from the DOM): {state ('' | 'consent' |
     * 'recording', the indicator's data-state), indicatorVisible (on screen, no scrolling needed),
     * indicatorText, consentOpen, buttonText, buttonDisabled, buttonVisible}; texts are the full words.
     */
    recording: () => recordingSnapshot(),
    /** The page's language ('en' or 'zh-CN'). */
    language: () => document.documentElement.lang,
    /** Track metadata of participantId's published tracks: [{id, kind, source, muted}]. */
    tracksOf: (participantId) => [...(session()?.tracks.values() ?? [])]
      .filter((t) => t.participantId === participantId)
      .map((t) => ({ id: t.id, kind: t.kind, source: t.source, muted: !!t.muted })),
    /**
     * Publishes a new microphone ('audio') or camera ('video') track through
     * the publisher, skipping the client's own grant check, as a modified
     * client would. Resolves {ok, code}: code is the server's refusal (e.g.
     * insufficient_grant), which the page also shows as a banner.
     */
    tryPublish: async (kind) => {
      const s = session();
      if (!s || s.state !== 'joined') return { ok: false, code: 'not_joined' };
      const stream = await navigator.mediaDevices.getUserMedia({ [kind]: true });
      const track = stream.getTracks()[0];
      try {
        await s.publisher.publishTrack(track, stream);
        return { ok: true, code: '' };
      } catch (err) {
        track.stop();
        banners.show(`device:${kind}`, { title: t('device.cannotSend', { device: t(`device.noun.${kind}`) }), text: err.message || String(err), tone: 'warning' });
        return { ok: false, code: err.code || 'client' };
      }
    },
  };
  Object.defineProperty(window, 'huddle', { value: Object.freeze(hooks), configurable: false });
}
