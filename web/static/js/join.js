// join.js: the join screen.
//
// One job: the form before a call: room and name fields with validation
// (locked when an invitation link sets them), the camera quality (720p, or
// 1080p for consultation cameras), the camera preview with microphone/camera
// toggles, the microphone level (meter.js), the camera, microphone and
// speaker lists (devices.js), and the explanation when the camera or
// microphone cannot be used (or need not be: an invitation to watch). It
// reports intentions through callbacks and never talks to the server.

import { renderMicButton, renderCamButton } from './icons.js';
import { CAMERA_QUALITIES } from './media.js';
import { DevicePicker } from './devices.js';
import { MicMeter } from './meter.js';
import { LANGUAGES, language, setLanguage, t } from './i18n.js';

const ROOM_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Checks the form values as the server will (PROTOCOL.md `join`); returns a message or null. */
export function validate(room, name) {
  if (!room) return t('join.error.noRoom');
  if (!ROOM_RE.test(room)) return t('join.error.roomFormat');
  if (!name) return t('join.error.noName');
  if ([...name].length > 64) return t('join.error.nameLength');
  return null;
}

export class JoinScreen {
  /**
   * @param {{onJoin(room: string, name: string): void, onToggleMic(): void,
   *          onToggleCam(): void, onRetryMedia(): void, onQuality(quality: string): void,
   *          onDevice(kind: string, deviceId: string): void}} actions
   */
  constructor(actions) {
    const $ = (id) => document.getElementById(id);
    this.screen = $('join-screen');
    this.form = $('join-form');
    this.room = $('room');
    this.name = $('name');
    this.button = $('join-button');
    this.error = $('join-error');
    this.lead = $('join-lead');
    this.previewTile = $('join-preview-tile');
    this.preview = $('join-preview');
    this.previewStatus = $('join-preview-status');
    this.mediaMessage = $('media-message');
    this.retry = $('media-retry');
    this.micBtn = $('join-mic');
    this.camBtn = $('join-cam');
    this.toggles = this.micBtn.parentElement;
    this.qualitySelect = $('camera-quality');
    this.qualityField = this.qualitySelect.closest('.field');
    this.devicesEl = $('devices');
    this.devices = new DevicePicker(
      { videoinput: $('camera-select'), audioinput: $('mic-select'), audiooutput: $('speaker-select'), hint: $('devices-hint') },
      (kind, id) => actions.onDevice(kind, id),
    );
    this.meter = new MicMeter($('mic-meter'), $('mic-meter-gauge'));
    this.meterLabel = $('mic-meter-label');
    this.#languageSwitch($('lang-select'));
    // Fill the lists now; names follow once access is allowed (setMedia).
    this.devices.refresh();
    this.stream = null;

    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const { room, name } = this.values();
      const problem = validate(room, name);
      this.setError(problem);
      if (problem) {
        (room && ROOM_RE.test(room) ? this.name : this.room).focus();
        return;
      }
      actions.onJoin(room, name);
    });
    this.micBtn.addEventListener('click', () => actions.onToggleMic());
    this.camBtn.addEventListener('click', () => actions.onToggleCam());
    this.retry.addEventListener('click', () => actions.onRetryMedia());
    this.qualitySelect.addEventListener('change', () => actions.onQuality(this.quality()));
    // The preview shows the avatar until the camera delivers frames.
    this.preview.addEventListener('resize', () => this.#updatePreview());
    this.preview.addEventListener('loadeddata', () => this.#updatePreview());
    this.camOff = false;
  }

  values() {
    return { room: this.room.value.trim(), name: this.name.value.trim() };
  }

  /** The language switch: the client's languages, each named in itself; a choice reloads the page. */
  #languageSwitch(select) {
    for (const { code, name } of LANGUAGES) {
      const opt = document.createElement('option');
      opt.value = code;
      opt.lang = code;
      opt.textContent = name;
      select.append(opt);
    }
    select.value = language();
    select.addEventListener('change', () => setLanguage(select.value));
  }

  prefill(room, name, quality) {
    if (room) this.room.value = room;
    if (name) this.name.value = name;
    if (CAMERA_QUALITIES.includes(quality)) this.qualitySelect.value = quality;
  }

  /** The chosen camera quality: '720' or '1080'. */
  quality() {
    return CAMERA_QUALITIES.includes(this.qualitySelect.value) ? this.qualitySelect.value : '720';
  }

  show(lead) {
    this.screen.hidden = false;
    if (lead) this.lead.textContent = lead;
    this.setBusy(false);
    this.#meterOn();
  }

  hide() {
    this.screen.hidden = true;
    // Nobody sees the meter during the call: stop reading the microphone.
    this.meter.attach(null);
  }

  /** The room comes from an invitation link: shown, not editable. */
  lockRoom() {
    this.#lock(this.room, 'room-hint', t('join.room.locked'));
  }

  /** The name comes from the invitation (the server uses the token's): shown, not editable. */
  lockName() {
    this.#lock(this.name, 'name-hint', t('join.name.locked'));
  }

  /** Focuses the first empty field, so keyboard users can type at once. */
  focusFirst() {
    const editable = (el) => !el.readOnly && !el.value;
    (editable(this.room) ? this.room : editable(this.name) ? this.name : this.button).focus();
  }

  setBusy(busy) {
    this.button.disabled = busy || !!this.blocked;
    this.button.textContent = busy ? t('join.busy') : t('join.button');
    this.button.setAttribute('aria-busy', String(busy));
  }

  /**
   * Shows, first on the card, why the invitation cannot work ({title, text}), and keeps Join from
   * being pressed in vain; null clears it.
   */
  setInvitationProblem(problem) {
    const notice = document.getElementById('join-notice');
    notice.hidden = !problem;
    document.getElementById('join-notice-title').textContent = problem ? problem.title : '';
    document.getElementById('join-notice-text').textContent = problem ? problem.text : '';
    this.blocked = !!problem;
    // No preview or devices beside a link that cannot be used: the notice and the form say it all.
    this.screen.classList.toggle('join-screen--link-problem', this.blocked);
    this.button.disabled = this.blocked;
    if (problem) notice.scrollIntoView({ block: 'nearest' });
  }

  setError(text) {
    this.error.hidden = !text;
    this.error.textContent = text || '';
  }

  /** Shows that media is being requested. */
  setMediaPending() {
    this.previewStatus.textContent = t('join.preview.starting');
    this.previewTile.classList.add('tile--no-video');
  }

  /**
   * Shows the local stream (or its absence) and the message explaining what
   * is missing, with a retry button when nothing could be started.
   */
  setMedia(stream, message) {
    this.qualityField.hidden = false;
    this.devicesEl.hidden = false;
    this.stream = stream;
    this.devices.setStream(stream);
    this.#meterOn();
    this.mediaMessage.classList.remove('media-message--info');
    this.preview.srcObject = stream;
    if (stream) this.preview.play().catch(() => {});
    const hasAudio = !!stream && stream.getAudioTracks().length > 0;
    const hasVideo = !!stream && stream.getVideoTracks().length > 0;
    this.hasVideo = hasVideo;
    this.previewStatus.textContent = hasVideo ? '' : t('join.preview.camOff');
    this.mediaMessage.hidden = !message;
    this.mediaMessage.textContent = message || '';
    this.retry.hidden = hasAudio && hasVideo;
    this.micBtn.hidden = !hasAudio;
    this.camBtn.hidden = !hasVideo;
    // Empty, the row would still overlap the preview's bottom (it sits inside it).
    this.toggles.hidden = !hasAudio && !hasVideo;
    this.#updatePreview();
  }

  /**
   * Shows that we will join without camera or microphone because the
   * invitation most likely lets us only watch (text says so): no preview,
   * no toggles, no camera quality, and nothing asked of the browser.
   */
  setReceiveOnly(text) {
    this.preview.srcObject = null;
    this.stream = null;
    this.meter.attach(null);
    this.devicesEl.hidden = true;
    this.hasVideo = false;
    this.previewStatus.textContent = t('join.preview.watching');
    this.mediaMessage.hidden = false;
    this.mediaMessage.textContent = text;
    // Information, not a problem to fix.
    this.mediaMessage.classList.add('media-message--info');
    this.retry.hidden = true;
    this.micBtn.hidden = true;
    this.camBtn.hidden = true;
    this.toggles.hidden = true;
    this.qualityField.hidden = true;
    this.#updatePreview();
  }

  /** Renders the two toggles from the current local state. */
  setToggles(micMuted, camOff) {
    renderMicButton(this.micBtn, micMuted);
    // A flat meter on a muted microphone is expected, not a fault: say which.
    this.meterLabel.textContent = micMuted ? t('join.meter.muted') : t('join.meter.level');
    renderCamButton(this.camBtn, camOff);
    this.camOff = camOff;
    if (this.hasVideo) this.previewStatus.textContent = camOff ? t('join.preview.camOff') : '';
    this.#updatePreview();
  }

  #meterOn() {
    const track = this.stream ? this.stream.getAudioTracks()[0] || null : null;
    this.meter.attach(this.screen.hidden ? null : track);
  }

  #lock(input, hintId, hint) {
    input.readOnly = true;
    input.classList.add('field__input--locked');
    const el = document.getElementById(hintId);
    if (el) el.textContent = hint;
  }

  #updatePreview() {
    const picture = this.hasVideo && !this.camOff && this.preview.videoWidth > 0;
    this.previewTile.classList.toggle('tile--no-video', !picture);
  }
}
