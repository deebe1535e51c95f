// tile.js: one participant's tile.
//
// One job: show one person or one screen share: the video (or an initials
// avatar while there is no picture), the name, a muted-microphone badge,
// the connection quality (good/fair/poor, quality.js), whether they speak,
// whether the server paused the video for bandwidth, and a pin button. A remote tile holds one MediaStream with that participant's
// audio and video and plays it through its <video> element, so sound and
// picture stay in sync.

import { icon } from './icons.js';
import { qualityText } from './quality.js';
import { playWithSound, forget } from './autoplay.js';
import { t } from './i18n.js';
import { videoStory, storyNotice } from './videostate.js';

// Muted, distinguishable avatar colours that keep white initials readable
// (contrast >= 4.5:1).
const AVATAR_COLOURS = ['#3d5a80', '#6b4f8a', '#2f6f62', '#8a4f4f', '#5b6b2f', '#7a5a2a', '#3f6b8a', '#6a4a6e'];


export class Tile {
  /**
   * @param {{id: string, name: string, local?: boolean, screen?: boolean,
   *          participantId?: string, onPin?: () => void}} opts
   *   screen: the tile shows a screen share (of participantId) rather than a person;
   *   onPin: called when the user asks to pin or unpin it (remote tiles only)
   */
  constructor({ id, name, local = false, screen = false, participantId = id, onPin = null }) {
    this.id = id;
    this.local = local;
    this.screen = screen;
    this.participantId = participantId;
    this.stream = new MediaStream();
    this.micMuted = false;
    this.cameraOff = false;
    this.pinned = false;
    this.videoTrackId = null; // the server's id of the video track shown, for adaptive stream

    const el = document.createElement('div');
    el.className = ['tile', local && 'tile--local', screen && 'tile--screen'].filter(Boolean).join(' ');
    el.setAttribute('role', 'group');
    el.dataset.participantId = participantId;
    el.dataset.tileId = id;

    const video = document.createElement('video');
    video.className = 'tile__video';
    video.autoplay = true;
    video.playsInline = true;
    // Our own preview must never play our microphone back to us.
    video.muted = local;
    // Our camera preview is mirrored (style.css); our shared screen must read the right way round.
    if (local && screen) el.classList.add('tile--unmirrored');
    // srcObject is set by #attach once the stream has a track.

    const placeholder = document.createElement('div');
    placeholder.className = 'tile__placeholder';
    const avatar = document.createElement('span');
    avatar.className = 'tile__avatar';
    avatar.setAttribute('aria-hidden', 'true');
    placeholder.append(avatar);

    const label = document.createElement('div');
    label.className = 'tile__label';
    const mic = document.createElement('span');
    mic.className = 'tile__mic';
    mic.innerHTML = icon('micOff');
    const micText = document.createElement('span');
    micText.className = 'visually-hidden';
    micText.textContent = t('tile.micMuted');
    mic.append(micText);
    const nameEl = document.createElement('span');
    nameEl.className = 'tile__name';
    // Connection quality: bars for the eye, words for screen readers; hidden until measured.
    const quality = document.createElement('span');
    quality.className = 'tile__quality';
    quality.hidden = true;
    quality.innerHTML = icon('signal');
    const qualityText = document.createElement('span');
    qualityText.className = 'visually-hidden';
    quality.append(qualityText);
    label.append(mic, quality, nameEl);

    // Polite live region that stays in the DOM (an inserted one is often not
    // read): its text appears when the server pauses this video.
    const notice = document.createElement('div');
    notice.className = 'tile__notice';
    notice.setAttribute('role', 'status');

    el.append(video, placeholder, label, notice);
    if (onPin && !local) {
      const pin = document.createElement('button');
      pin.type = 'button';
      pin.className = 'btn btn--icon tile__pin';
      pin.innerHTML = icon('pin');
      pin.setAttribute('aria-pressed', 'false');
      pin.addEventListener('click', (ev) => {
        ev.stopPropagation(); // the tile's own click would toggle it back
        onPin();
      });
      el.append(pin);
      this.pinBtn = pin;
      // Clicking anywhere on the picture pins too; the button is the
      // keyboard and screen-reader way to do the same.
      el.addEventListener('click', () => onPin());
      el.classList.add('tile--pinnable');
    }
    this.el = el;
    this.notice = notice;
    this.video = video;
    this.placeholder = placeholder;
    this.avatar = avatar;
    this.micEl = mic;
    this.nameEl = nameEl;
    this.qualityEl = quality;
    this.qualityText = qualityText;

    // The picture appears only once frames arrive; until then the avatar
    // stays, instead of a black box.
    for (const ev of ['loadeddata', 'resize', 'playing', 'emptied']) {
      video.addEventListener(ev, () => this.#updateVisibility());
    }
    this.setName(name);
    this.setMicMuted(false);
    this.#updateVisibility();
  }

  setName(name) {
    this.name = name;
    if (this.screen) {
      this.nameEl.textContent = this.local ? t('tile.screen.mine') : t('tile.screen.of', { name });
      this.el.setAttribute('aria-label', this.local ? t('tile.screen.mineAria') : t('tile.screen.ofAria', { name }));
    } else {
      this.nameEl.textContent = this.local ? t('common.you', { name }) : name;
      this.el.setAttribute('aria-label', this.local ? t('tile.youAria', { name }) : name);
    }
    this.avatar.textContent = initials(name);
    this.avatar.style.backgroundColor = AVATAR_COLOURS[hash(name) % AVATAR_COLOURS.length];
    this.#renderPin();
  }

  setPinned(pinned) {
    this.pinned = pinned;
    this.el.classList.toggle('tile--pinned', pinned);
    this.#renderPin();
  }

  /** Highlights the tile while its participant speaks (`active_speakers`). */
  setSpeaking(speaking) {
    this.el.classList.toggle('tile--speaking', speaking);
  }

  /**
   * Shows what the server forwards of this tile's video (`stream_state`):
   * a notice while it is paused for bandwidth; the layer goes to data-layer
   * for tests and debugging.
   * @param {{state: string, layer?: string, reason?: string} | null} st
   */
  setStreamState(st) {
    const state = st ? st.state : '';
    this.el.dataset.streamState = state || '';
    this.el.dataset.layer = (st && st.layer) || '';
    const story = videoStory(st);
    // Why it looks as it does (downlink, hidden, sender): for tests and styles; the words are the story's.
    this.el.dataset.videoCause = story.cause;
    const text = storyNotice(story);
    if (this.notice.textContent !== text) this.notice.textContent = text;
    this.el.classList.toggle('tile--paused', !!text);
  }

  /**
   * Shows the connection quality: level 'good' | 'fair' | 'poor', or
   * 'unknown' (hidden); detail is the tooltip with the figures.
   */
  setQuality(level, detail = '') {
    const known = level === 'good' || level === 'fair' || level === 'poor';
    this.qualityEl.hidden = !known;
    this.el.dataset.quality = known ? level : '';
    if (!known) return;
    this.qualityEl.dataset.level = level;
    const words = qualityText(level);
    this.qualityEl.title = detail || words;
    if (this.qualityText.textContent !== words) this.qualityText.textContent = words;
  }

  /**
   * Plays this tile's sound through the output device deviceId ('' the
   * default) where the browser can choose (setSinkId).
   */
  setAudioOutput(deviceId) {
    if (this.local || typeof this.video.setSinkId !== 'function') return;
    if ((this.video.sinkId || '') === (deviceId || '')) return;
    this.video.setSinkId(deviceId || '').catch((err) => console.warn('huddle: cannot use the chosen speaker', err));
  }

  /** Puts track (or nothing) in place of this tile's track of that kind. */
  setTrack(kind, track) {
    for (const old of kind === 'audio' ? this.stream.getAudioTracks() : this.stream.getVideoTracks()) {
      if (old === track) return;
      this.stream.removeTrack(old);
      old.removeEventListener('mute', this.#onTrackState);
      old.removeEventListener('unmute', this.#onTrackState);
    }
    if (track) {
      this.stream.addTrack(track);
      // A remote track mutes when its packets stop (e.g. the sender's
      // camera is gone); show the avatar rather than a frozen frame.
      track.addEventListener('mute', this.#onTrackState);
      track.addEventListener('unmute', this.#onTrackState);
    }
    if (this.#attach()) this.#play();
    this.#updateVisibility();
  }

  /** Uses every track of stream (the local preview). */
  setStream(stream) {
    for (const kind of ['audio', 'video']) {
      const t = stream ? (kind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks())[0] : null;
      this.setTrack(kind, t || null);
    }
  }

  setMicMuted(muted) {
    this.micMuted = muted;
    this.micEl.hidden = !muted;
  }

  setCameraOff(off) {
    this.cameraOff = off;
    this.#updateVisibility();
  }

  /** Size of the decoded picture; 0x0 while there is none. */
  videoSize() {
    return { width: this.video.videoWidth, height: this.video.videoHeight };
  }

  destroy() {
    forget(this.video);
    for (const t of this.stream.getTracks()) {
      t.removeEventListener('mute', this.#onTrackState);
      t.removeEventListener('unmute', this.#onTrackState);
    }
    this.video.srcObject = null;
    this.el.remove();
  }

  #onTrackState = () => this.#updateVisibility();

  #renderPin() {
    if (!this.pinBtn) return;
    const what = this.screen ? t('tile.screen.of', { name: this.name }) : this.name;
    const label = this.pinned ? t('tile.unpin', { what }) : t('tile.pin', { what });
    this.pinBtn.setAttribute('aria-label', label);
    this.pinBtn.title = label;
    this.pinBtn.setAttribute('aria-pressed', String(this.pinned));
  }

  /**
   * Gives the element the stream only while it has a track. A media element
   * playing an empty MediaStream never reaches HAVE_METADATA and so delays
   * the page's load event for ever (the tab keeps spinning); that is the
   * case for a participant who publishes nothing. Returns whether there is
   * anything to play.
   */
  #attach() {
    const want = this.stream.getTracks().length > 0 ? this.stream : null;
    if (this.video.srcObject !== want) this.video.srcObject = want;
    return want !== null;
  }

  #play() {
    if (this.local) {
      this.video.play().catch(() => {}); // muted: always allowed
      return;
    }
    playWithSound(this.video);
  }

  #updateVisibility() {
    const track = this.stream.getVideoTracks()[0];
    const hasPicture = !!track && !this.cameraOff && !track.muted && this.video.videoWidth > 0;
    this.el.classList.toggle('tile--no-video', !hasPicture);
  }
}

function initials(name) {
  const words = String(name || '?').trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const first = [...words[0]][0] || '';
  const last = words.length > 1 ? [...words[words.length - 1]][0] || '' : '';
  return (first + last).toUpperCase();
}

function hash(s) {
  let h = 0;
  for (const ch of String(s)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return h;
}

/** The avatar tiles draw for name: {text: its initials, colour}; the roster (roster.js) draws the same. */
export function avatarOf(name) {
  return { text: initials(name), colour: AVATAR_COLOURS[hash(name) % AVATAR_COLOURS.length] };
}
