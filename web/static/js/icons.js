// icons.js: inline SVG icons and the labelled-button helper.
//
// One job: give every control the same look (icon + visible text) and keep
// its accessible name and pressed state in step with what it does. Icons are
// constant strings drawn here, so setting them with innerHTML is safe; user
// text never goes through innerHTML anywhere in the client.

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
};

/** Returns the markup of an icon; decorative, so hidden from screen readers. */
export function icon(name) {
  return `<svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${PATHS[name]}</svg>`;
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

/** The microphone toggle: "pressed" means muted, the state users check for. */
export function renderMicButton(btn, muted, available = true) {
  renderButton(btn, {
    iconName: muted ? 'micOff' : 'mic',
    text: !available ? 'No mic' : muted ? 'Unmute' : 'Mute',
    ariaLabel: !available ? 'No microphone available' : muted ? 'Unmute microphone' : 'Mute microphone',
    pressed: muted,
  });
  btn.disabled = !available;
  btn.classList.toggle('is-off', muted);
}

/** The screen share toggle: "pressed" means we are sharing. */
export function renderScreenButton(btn, sharing) {
  renderButton(btn, {
    iconName: sharing ? 'screenOff' : 'screen',
    text: sharing ? 'Stop share' : 'Share',
    ariaLabel: sharing ? 'Stop sharing your screen' : 'Share your screen',
    pressed: sharing,
  });
  btn.classList.toggle('is-active', sharing);
}

/** The camera toggle: "pressed" means the camera is off. */
export function renderCamButton(btn, off, available = true) {
  renderButton(btn, {
    iconName: off ? 'camOff' : 'cam',
    text: !available ? 'No camera' : off ? 'Start video' : 'Stop video',
    ariaLabel: !available ? 'No camera available' : off ? 'Turn camera on' : 'Turn camera off',
    pressed: off,
  });
  btn.disabled = !available;
  btn.classList.toggle('is-off', off);
}
