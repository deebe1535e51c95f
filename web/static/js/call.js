// call.js: the call screen.
//
// One job: show a room in progress: the header (room, head count, layout
// toggle), the tile grid (ours first, one per remote participant, one per
// screen share, in pages when there are many) and the controls bar. It turns
// session events into tile updates (media, mute, screen shares, who speaks,
// paused video, connection quality) and button clicks into callbacks, decides
// which tile is featured (pinned by the user, a new screen share, or in
// speaker view the person who spoke last), keeps adaptive stream told about
// every remote video tile, and shows the calm status line (what the host lets
// us do) and the "Reconnecting…" banner. It does not talk to the server
// itself.

import { Grid } from './grid.js';
import { Pager } from './pages.js';
import { Tile } from './tile.js';
import { qualityDetail, qualityText } from './quality.js';
import { videoStory, storyLevel, storyText } from './videostate.js';
import { AdaptiveStream } from './adaptive.js';
import { renderButton, renderMicButton, renderCamButton, renderScreenButton, addNarrowText } from './icons.js';
import { onAudioBlocked, unlockAudio } from './autoplay.js';
import { canShareScreen } from './screenshare.js';
import { t, tn } from './i18n.js';

const LOCAL_ID = 'local';
const LOCAL_SCREEN_ID = 'local-screen';

/** The id of a participant's screen share tile. */
const screenTileId = (participantId) => `screen:${participantId}`;

export class CallScreen {
  /**
   * @param {{onToggleMic(): void, onToggleCam(): void, onToggleScreen(): void, onLeave(): void,
   *          onTrackSettings(trackId: string, settings: object): void}} actions
   */
  constructor(actions) {
    const $ = (id) => document.getElementById(id);
    this.screen = $('call-screen');
    this.roomEl = $('call-room');
    this.countEl = $('call-count');
    this.micBtn = $('toggle-mic');
    this.camBtn = $('toggle-cam');
    this.screenBtn = $('toggle-screen');
    this.leaveBtn = $('leave');
    this.audioBtn = $('enable-audio');
    this.statusEl = $('call-status');
    this.layoutBtn = $('toggle-layout');
    this.reconnectEl = $('reconnect-banner');
    this.screenAllowed = true;
    this.grid = new Grid($('stage'), $('grid'));
    const pager = new Pager($('pager'), (delta) => this.grid.turnPage(delta));
    this.grid.onPages = (page, pages) => pager.render(page, pages);
    this.speakerView = false; // one large tile (the last speaker) over a strip, instead of the grid
    this.lastSpeaker = null; // the remote participant who spoke last (loudest), for speaker view
    this.audioOutput = ''; // speaker device id for remote sound ('' default)
    this.adaptive = new AdaptiveStream((trackId, settings) => actions.onTrackSettings(trackId, settings));
    this.pinned = null; // tile id the user (or a new screen share) made large
    this.featureOwnScreen = false; // our own screen share is the large tile (a consultation: roomlayout.js)
    this.streamStates = new Map(); // trackId -> latest stream_state
    this.speaking = new Set(); // tile ids highlighted as speaking
    // Room features (issue 7, roomlayout.js / tilemenu.js): whether a remote
    // participant gets a tile (null: everyone), hooks called with each new
    // remote person tile, and the head count when not everyone has a tile.
    this.tileGate = null;
    this.remoteTileHooks = new Set();
    this.headcount = null;

    renderButton(this.leaveBtn, { iconName: 'leave', text: t('call.leave'), ariaLabel: t('call.leave.aria') });
    renderButton(this.audioBtn, { iconName: 'speaker', text: t('call.enableAudio'), ariaLabel: t('call.enableAudio.aria') });
    this.setScreenSharing(false);
    this.micBtn.addEventListener('click', () => actions.onToggleMic());
    this.camBtn.addEventListener('click', () => actions.onToggleCam());
    this.screenBtn.addEventListener('click', () => actions.onToggleScreen());
    this.leaveBtn.addEventListener('click', () => actions.onLeave());
    this.#renderLayoutButton();
    this.layoutBtn.addEventListener('click', () => this.setSpeakerView(!this.speakerView));
    // Browsers refuse sound until the page had a user gesture; this click is one.
    this.audioBtn.addEventListener('click', () => unlockAudio());
    onAudioBlocked((blocked) => {
      this.audioBtn.hidden = !blocked;
    });
  }

  /** Shows the screen for room, with our own tile from stream (may be null). */
  show(room, name, stream) {
    this.roomEl.textContent = room;
    this.screen.hidden = false;
    // The join form may have been scrolled (a phone); the call starts at its top, header in view.
    window.scrollTo(0, 0);
    document.title = `${room} \u00b7 Huddle`;
    const tile = this.grid.get(LOCAL_ID) || this.grid.add(new Tile({ id: LOCAL_ID, name, local: true }));
    tile.setName(name);
    tile.setStream(stream);
    this.name = name;
    this.#updateCount();
    // Recompute now that the stage has its real size.
    this.grid.layout();
  }

  hide() {
    this.screen.hidden = true;
    this.setReconnecting(null);
    this.adaptive.clear();
    this.grid.clear();
    this.pinned = null;
    this.lastSpeaker = null;
    this.streamStates.clear();
    this.speaking.clear();
    this.audioBtn.hidden = true;
    this.setStatus(null);
    this.screenAllowed = true;
    this.setScreenSharing(false);
    document.title = 'Huddle';
  }

  /**
   * Renders the controls and our tile's badges from the local media state.
   * mic and cam are the controls' states (icons.js): 'ready', 'offer',
   * 'missing', 'denied' (not granted) or 'blocked' (a moderator's mute).
   */
  setLocalState({ micMuted, camOff, mic, cam }) {
    renderMicButton(this.micBtn, micMuted, mic);
    renderCamButton(this.camBtn, camOff, cam);
    const tile = this.grid.get(LOCAL_ID);
    if (tile) {
      tile.setMicMuted(micMuted || mic !== 'ready');
      tile.setCameraOff(camOff || cam !== 'ready');
    }
  }

  /** Shows stream (may be null) on our own tile, after its tracks changed. */
  setLocalStream(stream) {
    this.grid.get(LOCAL_ID)?.setStream(stream);
  }

  /**
   * Renders the share button. It is hidden where the browser cannot share
   * (phones) and while our grants do not allow it (most attendees never may,
   * so a locked button would only be clutter; the status line says when the
   * host allows it).
   */
  setScreenSharing(sharing) {
    renderScreenButton(this.screenBtn, sharing);
    this.screenBtn.hidden = !canShareScreen() || !this.screenAllowed;
  }

  /** Whether our grants allow a screen share (see setScreenSharing). */
  setScreenAllowed(allowed) {
    this.screenAllowed = allowed;
    this.screenBtn.hidden = !canShareScreen() || !allowed;
  }

  /**
   * The status line above the controls: what the host lets us do, said
   * calmly (an error banner would alarm someone who is only watching). null
   * clears it.
   */
  setStatus(text) {
    const t = text || '';
    if (this.statusEl.textContent !== t) this.statusEl.textContent = t;
  }

  /** The status line's text, for tests. */
  status() {
    return this.statusEl.textContent;
  }

  /**
   * Shows our own screen share (track), or removes it (null): a small tile, or the large one where
   * the room's layout wants the sharer to see what they show (featureOwnScreen, a consultation).
   */
  setLocalScreen(track) {
    if (!track) {
      this.grid.remove(LOCAL_SCREEN_ID);
      this.#applyFeatured();
      return;
    }
    const tile = this.grid.get(LOCAL_SCREEN_ID) ||
      this.grid.add(new Tile({ id: LOCAL_SCREEN_ID, name: this.name || '', local: true, screen: true }));
    tile.setMicMuted(false);
    tile.setTrack('video', track);
    this.#applyFeatured();
  }

  /** Whether our own screen share is the large tile while nothing is pinned (roomlayout.js sets it). */
  setFeatureOwnScreen(on) {
    if (this.featureOwnScreen === on) return;
    this.featureOwnScreen = on;
    this.#applyFeatured();
  }

  addParticipant(p) {
    const tile = this.grid.get(p.id);
    if (tile) {
      tile.setName(p.name);
      this.grid.get(screenTileId(p.id))?.setName(p.name);
      return;
    }
    if (this.tileGate && !this.tileGate(p)) return;
    const t = new Tile({ id: p.id, name: p.name, onPin: () => this.#togglePin(p.id) });
    // Until track metadata says otherwise, a newcomer has no audio/video.
    t.setMicMuted(true);
    t.setCameraOff(true);
    t.setAudioOutput(this.audioOutput);
    this.grid.add(t);
    for (const fn of this.remoteTileHooks) fn(t, p);
    this.#updateCount();
    // Speaker view needs someone large from the start, before anyone speaks.
    if (this.speakerView) this.#applyFeatured();
  }

  /**
   * Removes every remote tile (people and their screens), keeping ours: a
   * reconnect rebuilds the room from the new `joined`, whose participant
   * ids are new.
   */
  clearRemote() {
    for (const t of this.grid.remote()) this.#removeTile(t.id);
    this.streamStates.clear();
    this.lastSpeaker = null;
    this.#updateCount();
  }

  /**
   * Shows the "Reconnecting…" banner (info: {attempts}) or hides it (null).
   * The banner is a polite live region that stays in the DOM, so its text is
   * announced once; the attempt count is for the eye only.
   */
  setReconnecting(info) {
    this.screen.classList.toggle('call-screen--reconnecting', !!info);
    if (!info) {
      this.reconnectEl.textContent = '';
      return;
    }
    if (!this.reconnectEl.firstChild) {
      const spinner = document.createElement('span');
      spinner.className = 'spinner';
      spinner.setAttribute('aria-hidden', 'true');
      const title = document.createElement('strong');
      title.textContent = t('call.reconnecting');
      const text = document.createElement('span');
      text.textContent = ` ${t('call.reconnecting.text')}`;
      const attempt = document.createElement('span');
      attempt.className = 'reconnect-banner__attempt';
      attempt.setAttribute('aria-hidden', 'true');
      this.reconnectEl.append(spinner, title, text, attempt);
    }
    const attempt = this.reconnectEl.querySelector('.reconnect-banner__attempt');
    attempt.textContent = info.attempts > 0 ? ` ${t('call.reconnecting.attempt', { n: info.attempts + 1 })}` : '';
  }

  /** Switches between the grid and speaker view (one large tile over a strip). */
  setSpeakerView(on) {
    this.speakerView = !!on;
    this.#renderLayoutButton();
    this.#applyFeatured();
  }

  /**
   * Shows connection quality on the tiles: levels maps participantId (null:
   * us) to {level, loss, rtt} (quality.js); tiles without an entry show none.
   */
  setQualities(levels) {
    for (const tile of this.grid.tiles.values()) {
      if (tile.screen) continue;
      const q = levels.get(tile.local ? null : tile.participantId);
      // The mark tells the same story as the tile's notice and the stats panel (videostate.js).
      const story = videoStory(tile.local || !tile.videoTrackId ? null : this.streamStates.get(tile.videoTrackId));
      const level = storyLevel(q ? q.level : 'unknown', story);
      const detail = [q ? qualityDetail({ ...q, level }) : qualityText(level), storyText(story)].filter(Boolean).join(' \u00b7 ');
      tile.setQuality(level, detail);
    }
  }

  /** Plays remote sound through the output device deviceId ('' the default). */
  setAudioOutput(deviceId) {
    this.audioOutput = deviceId || '';
    for (const tile of this.grid.tiles.values()) tile.setAudioOutput(this.audioOutput);
  }

  /** For tests: the layout now. */
  layoutState() {
    return {
      view: this.speakerView ? 'speaker' : 'grid',
      featured: this.grid.featured,
      page: this.grid.page,
      pages: this.grid.pages,
      visible: this.grid.visibleIds(),
    };
  }

  removeParticipant(id) {
    this.#removeTile(screenTileId(id));
    this.#removeTile(id);
    this.#updateCount();
  }

  /** A participant started (present) or stopped sharing a screen. */
  setScreen(participantId, present) {
    const id = screenTileId(participantId);
    if (!present) {
      this.#removeTile(id);
      return;
    }
    if (this.grid.get(id)) return;
    const person = this.grid.get(participantId);
    const t = new Tile({
      id,
      name: person ? person.name : '',
      screen: true,
      participantId,
      onPin: () => this.#togglePin(id),
    });
    t.setMicMuted(false);
    t.setAudioOutput(this.audioOutput);
    this.grid.add(t);
    // A new screen share is what everyone should look at: feature it, as if
    // pinned (so one click on its pin button gives the grid back).
    this.pinned = id;
    this.#applyFeatured();
  }

  /**
   * Shows track (or nothing) as participantId's media of this kind: on their
   * own tile (group 'camera') or on their screen share tile ('screen').
   */
  setMedia(participantId, kind, track, trackId = null, group = 'camera') {
    const tile = this.grid.get(group === 'screen' ? screenTileId(participantId) : participantId);
    if (!tile) return;
    tile.setTrack(kind, track);
    if (kind !== 'video') return;
    if (tile.videoTrackId && tile.videoTrackId !== trackId) this.adaptive.unobserve(tile.videoTrackId);
    tile.videoTrackId = track ? trackId : null;
    if (tile.videoTrackId) {
      this.adaptive.observe(tile.videoTrackId, tile.video, this.#priorityOf(tile));
      tile.el.dataset.trackId = tile.videoTrackId;
    } else {
      delete tile.el.dataset.trackId;
    }
    tile.setStreamState(tile.videoTrackId ? this.streamStates.get(tile.videoTrackId) ?? null : null);
  }

  setMuted(participantId, kind, muted) {
    const tile = this.grid.get(participantId);
    if (!tile) return;
    if (kind === 'audio') tile.setMicMuted(muted);
    else tile.setCameraOff(muted);
  }

  /** What the server forwards of a video track we receive (`stream_state`). */
  setStreamState(trackId, st) {
    this.streamStates.set(trackId, st);
    for (const tile of this.grid.tiles.values()) {
      if (tile.videoTrackId === trackId) tile.setStreamState(st);
    }
  }

  /**
   * Highlights who speaks (`active_speakers`, loudest first; selfId marks
   * us) and makes sure the loudest other person is in view.
   */
  setSpeakers(speakers, selfId) {
    const now = new Set();
    for (const s of speakers) now.add(s.participantId === selfId ? LOCAL_ID : s.participantId);
    for (const id of this.speaking) if (!now.has(id)) this.grid.get(id)?.setSpeaking(false);
    for (const id of now) this.grid.get(id)?.setSpeaking(true);
    this.speaking = now;
    const loudest = speakers.find((s) => s.participantId !== selfId);
    if (!loudest) return;
    if (this.speakerView && this.lastSpeaker !== loudest.participantId) {
      // Stays large through silences: the last one who spoke, not nobody.
      this.lastSpeaker = loudest.participantId;
      this.#applyFeatured();
    } else {
      this.lastSpeaker = loudest.participantId;
    }
    this.grid.bringForward(loudest.participantId);
  }

  /** For tests: one entry per remote tile (people and screen shares). */
  remoteTiles() {
    return this.grid.remote().map((t) => {
      const { width, height } = t.videoSize();
      return {
        participantId: t.participantId,
        tileId: t.id,
        name: t.name,
        screen: t.screen,
        trackId: t.videoTrackId,
        videoWidth: width,
        videoHeight: height,
        pinned: t.pinned,
        featured: this.grid.featured === t.id,
        speaking: t.el.classList.contains('tile--speaking'),
        onPage: !t.el.classList.contains('tile--offpage'),
        quality: t.el.dataset.quality || '',
        qualityTitle: t.el.dataset.quality ? t.qualityEl.title : '',
        videoCause: t.el.dataset.videoCause || '',
        streamState: t.el.dataset.streamState || '',
        layer: t.el.dataset.layer || '',
        notice: t.notice.textContent,
        priority: this.#priorityOf(t),
      };
    });
  }

  /** Pins tile id (null: unpins) as the user's pin button does: the room's spotlight (roomlayout.js). */
  pin(id) {
    this.pinned = id && this.grid.get(id) ? id : null;
    this.#applyFeatured();
  }

  /** The header's head count when not everyone has a tile (a classroom); null counts the tiles. */
  setHeadcount(n) {
    this.headcount = n;
    this.#updateCount();
  }

  #togglePin(id) {
    this.pinned = this.pinned === id ? null : id;
    this.#applyFeatured();
  }

  #removeTile(id) {
    const tile = this.grid.get(id);
    if (!tile) return;
    if (tile.videoTrackId) this.adaptive.unobserve(tile.videoTrackId);
    this.speaking.delete(id);
    if (this.lastSpeaker === id) this.lastSpeaker = null;
    this.grid.remove(id);
    if (this.pinned === id) {
      // Another screen share still running takes its place; else the grid.
      const other = this.grid.remote().find((t) => t.screen);
      this.pinned = other ? other.id : null;
    }
    this.#applyFeatured();
  }

  /**
   * Makes the pinned tile the featured one (in speaker view, else the last
   * speaker, else the first remote person) and re-ranks every remote video.
   */
  #applyFeatured() {
    let id = this.pinned && this.grid.get(this.pinned) ? this.pinned : null;
    if (!id && this.featureOwnScreen && this.grid.get(LOCAL_SCREEN_ID)) id = LOCAL_SCREEN_ID;
    if (!id && this.speakerView) {
      const people = this.grid.remote().filter((t) => !t.screen);
      id = this.lastSpeaker && this.grid.get(this.lastSpeaker) ? this.lastSpeaker : people[0]?.id ?? null;
    }
    if (this.grid.featured !== id) this.grid.setFeatured(id);
    for (const tile of this.grid.tiles.values()) {
      tile.setPinned(tile.id === id && id === this.pinned);
      if (tile.videoTrackId) this.adaptive.setPriority(tile.videoTrackId, this.#priorityOf(tile));
    }
  }

  /** Screen shares and the featured tile first when bandwidth is short. */
  #priorityOf(tile) {
    return tile.screen || this.grid.featured === tile.id ? 'high' : 'normal';
  }

  #renderLayoutButton() {
    renderButton(this.layoutBtn, {
      iconName: 'speakerView',
      text: t('call.speakerView'),
      ariaLabel: t('call.speakerView.aria'),
      pressed: this.speakerView,
    });
    // A phone's header gives each tool one short word.
    addNarrowText(this.layoutBtn, t('call.speakerView.short'));
  }

  #updateCount() {
    const n = this.headcount ?? [...this.grid.tiles.values()].filter((t) => !t.screen).length;
    this.countEl.textContent = n === 1 ? t('call.count.alone') : tn('call.count', n);
    this.onHeadcount?.(n);
  }
}
