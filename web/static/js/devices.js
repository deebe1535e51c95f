// devices.js: choosing the camera, microphone and speaker.
//
// One job: fill a set of three device lists (the join screen's, and the call's
// Devices panel, devicepanel.js) from enumerateDevices, show which device is
// in use, remember the user's choice on this device (localStorage, one record
// shared by every picker on the page), and say plainly when a kind of device
// is missing or its names are hidden until access is allowed. It reports
// choices through a callback and never opens a device itself (media.js does,
// with the ids chosen here).
//
// Speaker choice uses HTMLMediaElement.setSinkId; browsers without it (Safari,
// Firefox before 116) play through the system's output, and the list is hidden.

import { t } from './i18n.js';

const STORE_KEY = 'huddle.devices';

/** The three lists, by enumerateDevices kind. */
const DEVICE_KINDS = ['videoinput', 'audioinput', 'audiooutput'];

/** Whether this browser can route a media element's sound to a chosen output. */
export function canChooseSpeaker() {
  return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
}

// The remembered choice, {kind: deviceId}: read once, shared by every
// picker, so a choice made in the call is the one the join screen shows and
// uses next.
const prefs = loadPrefs();

export class DevicePicker {
  /**
   * @param {{videoinput: HTMLSelectElement, audioinput: HTMLSelectElement,
   *          audiooutput: HTMLSelectElement, hint: HTMLElement}} els
   * @param {(kind: string, deviceId: string) => void} onChange  the user chose a device
   */
  constructor(els, onChange) {
    this.els = els;
    this.hint = els.hint;
    this.onChange = onChange;
    this.prefs = prefs;
    this.devices = { videoinput: [], audioinput: [], audiooutput: [] };
    this.present = { videoinput: false, audioinput: false, audiooutput: false }; // listed, even unnamed
    this.active = { videoinput: '', audioinput: '' }; // ids of the devices the current stream uses
    this.refreshing = null; // the enumeration under way (refresh)
    this.again = false; // refresh asked for while one was under way
    for (const kind of DEVICE_KINDS) {
      els[kind].addEventListener('change', () => {
        const id = els[kind].value;
        this.remember(kind, id);
        this.onChange(kind, id);
      });
    }
    const md = navigator.mediaDevices;
    // A headset plugged in or out: offer it at once.
    if (md && md.addEventListener) md.addEventListener('devicechange', () => this.refresh());
  }

  /** The device id the user prefers for kind, '' for the browser's default. */
  chosen(kind) {
    return this.prefs[kind] || '';
  }

  /**
   * Remembers deviceId as the choice for kind without reporting it (a
   * switch that failed goes back to the device still in use).
   */
  remember(kind, deviceId) {
    this.prefs[kind] = deviceId || '';
    savePrefs(this.prefs);
  }

  /**
   * Records which devices stream uses (so the lists show the truth, even
   * when the browser fell back from a preference) and refreshes the lists.
   */
  setStream(stream) {
    for (const [kind, tracks] of [['videoinput', stream ? stream.getVideoTracks() : []], ['audioinput', stream ? stream.getAudioTracks() : []]]) {
      const settings = tracks[0] && tracks[0].getSettings ? tracks[0].getSettings() : {};
      this.active[kind] = settings.deviceId || '';
    }
    return this.refresh();
  }

  /** Re-reads the devices and redraws the lists. Resolves when done. */
  refresh() {
    // One enumeration at a time; a burst of devicechange events needs one
    // more at most. Asked during one, it runs once more after it, so a stream
    // set meanwhile (setStream) is drawn; the flag is read and the slot freed
    // in one step, so no request falls between them.
    this.again = true;
    if (!this.refreshing) {
      this.refreshing = (async () => {
        try {
          while (this.again) {
            this.again = false;
            await this.#enumerate();
          }
        } finally {
          this.refreshing = null;
        }
      })();
    }
    return this.refreshing;
  }

  /** For tests: {videoinput: [{id, label}], ..., selected: {kind: id}}. */
  snapshot() {
    const out = { selected: {} };
    for (const kind of DEVICE_KINDS) {
      out[kind] = this.devices[kind].map((d) => ({ id: d.deviceId, label: d.label }));
      out.selected[kind] = this.els[kind].value;
    }
    return out;
  }

  async #enumerate() {
    const md = navigator.mediaDevices;
    let list = [];
    if (md && md.enumerateDevices) {
      try {
        list = await md.enumerateDevices();
      } catch {
        list = [];
      }
    }
    // Before access is allowed browsers list one placeholder per kind with
    // an empty id; it cannot be chosen, so it is not a device here.
    let hiddenNames = false;
    const missing = [];
    for (const kind of DEVICE_KINDS) {
      const all = list.filter((d) => d.kind === kind);
      if (all.some((d) => !d.label)) hiddenNames = true;
      if (all.length === 0 && kind !== 'audiooutput') missing.push(kind);
      this.present[kind] = all.length > 0;
      this.devices[kind] = all.filter((d) => d.deviceId);
    }
    for (const kind of DEVICE_KINDS) this.#render(kind);
    this.els.audiooutput.closest('.field').hidden = !canChooseSpeaker() || this.devices.audiooutput.length === 0;
    let hint = '';
    if (!md || !md.enumerateDevices) hint = t('device.hint.noList');
    // Both missing: the lists and the join screen's message already say so.
    else if (missing.length === 1) hint = t(`device.missing.${missing[0]}`);
    else if (hiddenNames) hint = t('device.hint.hiddenNames');
    this.hint.textContent = hint;
    this.hint.hidden = !hint;
  }

  #render(kind) {
    const sel = this.els[kind];
    const devices = this.devices[kind];
    const want = kind === 'audiooutput' ? this.prefs[kind] || 'default' : this.active[kind] || this.prefs[kind] || '';
    sel.textContent = '';
    if (devices.length === 0) {
      // A device hidden until access is allowed is still there: say so rather than "none".
      sel.append(new Option(this.present[kind] ? t(`device.default.${kind}`) : t(`device.none.${kind}`), ''));
      sel.disabled = true;
      return;
    }
    sel.disabled = false;
    devices.forEach((d, i) => sel.append(new Option(d.label || t(`device.numbered.${kind}`, { n: i + 1 }), d.deviceId)));
    sel.value = devices.some((d) => d.deviceId === want) ? want : devices[0].deviceId;
  }
}

function loadPrefs() {
  try {
    const v = JSON.parse(localStorage.getItem(STORE_KEY) || '{}');
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}

function savePrefs(prefs) {
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify(prefs));
  } catch {
    // Remembering the choice is a convenience; storage may be disabled.
  }
}
