// icons.js: inline SVG icons and the labelled-button helper.
//
// One job: give every control the same look (icon + visible text) and keep
// its accessible name and pressed state in step with what it does. Icons are
// constant strings drawn here, so setting them with innerHTML is safe; user
// text never goes through innerHTML anywhere in the client.

import { t } from './i18n.js';

const PATHS = {
  mic: '<rect x="9" y="2.5" width="6" height="11.5" rx="3"/><path d="M5 10.5v.5a7 7 0 0 0 14 0v-.5"/><path d="M12 18v3.5"/>',
  micOff: '<rect x="9" y="2.5" width="6" height="11.5" rx="3"/><path d="M5 10.5v.5a7 7 0 0 0 14 0v-.5"/><path d="M12 18v3.5"/><path d="M3.5 3.5l17 17"/>',
  cam: '<rect x="2.5" y="6" width="13" height="12" rx="2"/><path d="M15.5 10.5l6-3.5v10l-6-3.5z"/>',
  camOff: '<rect x="2.5" y="6" width="13" height="12" rx="2"/><path d="M15.5 10.5l6-3.5v10l-6-3.5z"/><path d="M3.5 3.5l17 17"/>',
  leave: '<path d="M9 20.5H5.5a2 2 0 0 1-2-2v-13a2 2 0 0 1 2-2H9"/><path d="M15.5 16.5l4.5-4.5-4.5-4.5"/><path d="M20 12H9"/>',
  speaker: '<path d="M11 5L6.5 9H3v6h3.5L11 19z"/><path d="M15.5 9a4.5 4.5 0 0 1 0 6"/><path d="M18.5 6a8.5 8.5 0 0 1 0 12"/>',
  close: '<path d="M18 6L6 18"/><path d="M6 6l12 12"/>',
  screen: '<rect x="2.5" y="3.5" width="19" height="13" rx="2"/><path d="M8 20.5h8"/><path d="M12 16.5v4"/><path d="M12 13V7"/><path d="M9 9.5l3-3 3 3"/>',
  screenOff: '<rect x="2.5" y="3.5" width="19" height="13" rx="2"/><path d="M8 20.5h8"/><path d="M12 16.5v4"/><path d="M9.5 7.5l5 5"/><path d="M14.5 7.5l-5 5"/>',
  pin: '<path d="M9 3.5h6"/><path d="M10 3.5v5.5l-3 3.5h10l-3-3.5V3.5"/><path d="M12 12.5v8"/>',
  // Connection quality: three bars; style.css dims the ones a level does not reach.
  signal: '<path class="bar bar--1" d="M5 20v-4"/><path class="bar bar--2" d="M12 20v-9"/><path class="bar bar--3" d="M19 20V5"/>',
  // Layouts: a 2x2 grid, and one large tile over a strip.
  grid: '<rect x="3" y="3.5" width="7.5" height="7.5" rx="1.5"/><rect x="13.5" y="3.5" width="7.5" height="7.5" rx="1.5"/><rect x="3" y="13" width="7.5" height="7.5" rx="1.5"/><rect x="13.5" y="13" width="7.5" height="7.5" rx="1.5"/>',
  speakerView: '<rect x="3" y="3.5" width="18" height="11" rx="1.5"/><rect x="3" y="17" width="5" height="3.5" rx="1"/><rect x="9.5" y="17" width="5" height="3.5" rx="1"/><rect x="16" y="17" width="5" height="3.5" rx="1"/>',
  // Devices: three sliders, as in the settings of other call apps.
  devices: '<path d="M4 6h9"/><path d="M17 6h3"/><circle cx="15" cy="6" r="2"/><path d="M4 12h3"/><path d="M11 12h9"/><circle cx="9" cy="12" r="2"/><path d="M4 18h11"/><path d="M19 18h1"/><circle cx="17" cy="18" r="2"/>',
  stats: '<path d="M4 20.5h16"/><path d="M7 16.5v-5"/><path d="M12 16.5v-11"/><path d="M17 16.5v-8"/>',
  prev: '<path d="M15 5.5l-6.5 6.5 6.5 6.5"/>',
  next: '<path d="M9 5.5l6.5 6.5-6.5 6.5"/>',
};

/** Returns the markup of an icon; decorative, so hidden from screen readers. */
export function icon(name) {
  return `<svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${PATHS[name]}</svg>`;
}

/**
 * Gives a button rendered by renderButton a shorter text for phones: rooms.css shows it instead of the
 * full one at phone widths (the accessible name stays the full one).
 */
export function addNarrowText(btn, text) {
  btn.querySelector('.btn__text').classList.add('btn__text--wide');
  const short = document.createElement('span');
  short.className = 'btn__text btn__text--narrow';
  short.setAttribute('aria-hidden', 'true');
  short.textContent = text;
  btn.append(short);
}

/**
 * Renders a button as icon + visible text. ariaLabel names the action for
 * screen readers (it may say more than the short visible text); pressed, when
 * given, sets aria-pressed for toggle buttons.
 */
export function renderButton(btn, { iconName, text, ariaLabel, pressed }) {
  btn.innerHTML = `${icon(iconName)}<span class="btn__text"></span>`;
  btn.querySelector('.btn__text').textContent = text;
  btn.setAttribute('aria-label', ariaLabel || text);
  btn.title = ariaLabel || text;
  if (pressed !== undefined) btn.setAttribute('aria-pressed', String(pressed));
}

/*
 * The states of a mic or camera control (what it can do now, besides muting):
 *   ready    we have the device: the button mutes and unmutes it
 *   offer    allowed but not started (the host just allowed it): pressing starts it
 *   missing  no such device, or access was refused: disabled
 *   denied   our grants do not allow it: the host can allow it
 *   blocked  a moderator muted it: only the host can unmute it
 * denied and blocked use aria-disabled rather than disabled, so the button
 * stays focusable and keyboard and screen reader users can learn why.
 */
const LOCKED = new Set(['denied', 'blocked']);

function setUsable(btn, state) {
  btn.disabled = state === 'missing';
  if (LOCKED.has(state)) btn.setAttribute('aria-disabled', 'true');
  else btn.removeAttribute('aria-disabled');
}

// Per device ('mic', 'cam'): the icons of the plain on/off toggle. The labels are the catalogue's
// control.<device>.<label> (visible) and control.<device>.<label>.aria, where label is a locked or
// special control state, or 'off' / 'on' for the plain toggle.
const TOGGLE_ICONS = { mic: ['micOff', 'mic'], cam: ['camOff', 'cam'] };
const SPECIAL_STATES = new Set(['missing', 'denied', 'blocked', 'offer']);

/** A device toggle: "pressed" means the device is off, the state users check for. state: one of the control states above. */
function renderDeviceToggle(kind, btn, off, state) {
  const isOff = off || state !== 'ready';
  const label = SPECIAL_STATES.has(state) ? state : isOff ? 'off' : 'on';
  const text = t(`control.${kind}.${label}`);
  const ariaLabel = t(`control.${kind}.${label}.aria`);
  renderButton(btn, { iconName: TOGGLE_ICONS[kind][isOff ? 0 : 1], text, ariaLabel, pressed: isOff });
  setUsable(btn, state);
  btn.classList.toggle('is-off', isOff);
}

/** The microphone toggle: "pressed" means muted. */
export function renderMicButton(btn, muted, state = 'ready') {
  renderDeviceToggle('mic', btn, muted, state);
}

/** The screen share toggle: "pressed" means we are sharing. */
export function renderScreenButton(btn, sharing) {
  renderButton(btn, {
    iconName: sharing ? 'screenOff' : 'screen',
    text: sharing ? t('control.screen.stop') : t('control.screen.share'),
    ariaLabel: sharing ? t('control.screen.stop.aria') : t('control.screen.share.aria'),
    pressed: sharing,
  });
  btn.classList.toggle('is-active', sharing);
}

/** The camera toggle: "pressed" means the camera is off. */
export function renderCamButton(btn, off, state = 'ready') {
  renderDeviceToggle('cam', btn, off, state);
}
