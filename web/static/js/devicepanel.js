// devicepanel.js: the call's Devices panel.
//
// One job: let someone in a call switch camera, microphone and speaker (a
// headset plugged in, a document camera) without leaving. The lists are a
// second DevicePicker (devices.js), so the remembered choice is the join
// screen's. A camera or microphone choice goes to the app, which opens only
// that device and swaps it into what we send; if it cannot, the panel says
// why and shows the device still in use. Lists of a kind we may not publish
// are hidden, the speaker list too where the browser cannot choose one.
// The panel opens from a header button (aria-expanded), takes the focus,
// closes with its own button or Escape (focus returns to the button), and is
// refreshed when a device is plugged in or out while it is open.

import { DevicePicker, canChooseSpeaker } from './devices.js';
import { renderButton } from './icons.js';
import { t } from './i18n.js';

/** The two lists whose choice swaps a device we send, by track kind. */
const INPUTS = { videoinput: 'video', audioinput: 'audio' };

export class DevicePanel {
  /**
   * @param {{toggle: HTMLButtonElement, panel: HTMLElement, close: HTMLButtonElement,
   *          videoinput: HTMLSelectElement, audioinput: HTMLSelectElement, audiooutput: HTMLSelectElement,
   *          hint: HTMLElement, error: HTMLElement}} els
   * @param {{stream(): MediaStream|null, shows(kind: 'audio'|'video'): boolean,
   *          switchTo(kind: 'audio'|'video', deviceId: string): Promise<string|null>,
   *          speaker(deviceId: string): void, onOpen(): void}} hooks
   *   shows: whether we (may) send that kind, so its list is offered;
   *   switchTo: resolves with null once the device is in use, or a sentence saying why not
   */
  constructor(els, hooks) {
    this.els = els;
    this.hooks = hooks;
    this.open = false;
    this.pending = { video: Promise.resolve(), audio: Promise.resolve() };
    this.wanted = { video: null, audio: null }; // the latest choice per kind; older queued ones are skipped
    this.picker = new DevicePicker(
      { videoinput: els.videoinput, audioinput: els.audioinput, audiooutput: els.audiooutput, hint: els.hint },
      (kind, id) => this.#chose(kind, id),
    );
    // Filled now, so the first opening shows lists rather than empty boxes.
    this.picker.refresh();
    renderButton(els.toggle, { iconName: 'devices', text: t('devices.button'), ariaLabel: t('device.all') });
    els.toggle.setAttribute('aria-expanded', 'false');
    els.toggle.setAttribute('aria-controls', els.panel.id);
    renderButton(els.close, { iconName: 'close', text: t('common.close'), ariaLabel: t('devices.close') });
    els.toggle.addEventListener('click', () => this.setOpen(!this.open));
    els.close.addEventListener('click', () => this.setOpen(false, true));
    els.panel.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && !ev.defaultPrevented) this.setOpen(false, true);
    });
    // The picker refreshes its lists on devicechange; the fields shown depend on them too.
    const md = navigator.mediaDevices;
    if (md && md.addEventListener) md.addEventListener('devicechange', () => this.open && this.update());
    this.update();
  }

  /** Opens or closes the panel; restoreFocus puts the focus back on its button (Escape, Close). */
  setOpen(open, restoreFocus = false) {
    if (this.open === !!open) return;
    this.open = !!open;
    this.els.panel.hidden = !open;
    this.els.toggle.setAttribute('aria-expanded', String(this.open));
    if (open) {
      this.hooks.onOpen();
      this.#setError(null);
      this.update();
      this.#firstControl()?.focus();
    } else if (restoreFocus) {
      this.els.toggle.focus();
    }
  }

  /**
   * Shows the lists that apply now (what we send may change with grants and
   * devices) and, while open, re-reads the devices. Resolves when drawn.
   */
  update() {
    for (const [kind, trackKind] of Object.entries(INPUTS)) {
      this.els[kind].closest('.field').hidden = !this.hooks.shows(trackKind);
    }
    this.els.toggle.hidden = !this.hooks.shows('audio') && !this.hooks.shows('video') && !canChooseSpeaker();
    return this.open ? this.picker.setStream(this.hooks.stream()) : Promise.resolve();
  }

  /** For tests: {open, shown: {videoinput, audioinput, audiooutput}, devices (devices.js snapshot), error, busy}. */
  snapshot() {
    const shown = {};
    for (const kind of ['videoinput', 'audioinput', 'audiooutput']) shown[kind] = !this.els[kind].closest('.field').hidden;
    return {
      open: this.open,
      shown,
      devices: this.picker.snapshot(),
      error: this.els.error.hidden ? '' : this.els.error.textContent,
      busy: this.els.panel.getAttribute('aria-busy') === 'true',
    };
  }

  #chose(kind, id) {
    if (kind === 'audiooutput') {
      this.hooks.speaker(id);
      return;
    }
    const trackKind = INPUTS[kind];
    this.wanted[trackKind] = id;
    this.#setError(null);
    this.els.panel.setAttribute('aria-busy', 'true');
    // One switch of a kind at a time; arrowing through a list asks for
    // several, and only the last one still matters once the others are done.
    const step = this.pending[trackKind].then(async () => {
      if (this.wanted[trackKind] !== id) return;
      const problem = await this.hooks.switchTo(trackKind, id);
      if (problem) {
        // The old device stays: so does the remembered choice.
        const tracks = this.hooks.stream()?.getTracks().filter((t) => t.kind === trackKind) || [];
        this.picker.remember(kind, tracks[0]?.getSettings().deviceId || '');
        this.#setError(problem);
      }
    });
    this.pending[trackKind] = step.catch((err) => {
      console.warn('huddle: device switch failed', err);
      this.#setError(t('device.switchFailedAny', { detail: err.message || String(err) }));
    }).finally(() => {
      if (this.wanted[trackKind] === id) {
        this.els.panel.removeAttribute('aria-busy');
        this.update();
      }
    });
  }

  #setError(text) {
    this.els.error.hidden = !text;
    this.els.error.textContent = text || '';
  }

  /** The first list the user can use, else the Close button. */
  #firstControl() {
    const lists = ['videoinput', 'audioinput', 'audiooutput'].map((k) => this.els[k]);
    return lists.find((s) => !s.closest('.field').hidden && !s.disabled) || this.els.close;
  }
}
