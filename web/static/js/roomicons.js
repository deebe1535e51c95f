// roomicons.js: the icons of the room features (chat, people, hands, host tools).
//
// One job: draw the extra icons the role workflows need, in the same style as
// icons.js (24px grid, 2px round strokes, decorative and hidden from screen
// readers), and render labelled buttons with them. Icons are constant
// strings drawn here, so setting them with innerHTML is safe; user text never
// goes through innerHTML.

const PATHS = {
  chat: '<path d="M4 5.5h16a1.5 1.5 0 0 1 1.5 1.5v9a1.5 1.5 0 0 1-1.5 1.5H10l-4.5 3.5V17.5H4A1.5 1.5 0 0 1 2.5 16V7A1.5 1.5 0 0 1 4 5.5z"/>',
  people: '<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20v-1a5 5 0 0 1 5-5h3a5 5 0 0 1 5 5v1"/><path d="M16 4.8a3.5 3.5 0 0 1 0 6.4"/><path d="M18.5 14.2a5 5 0 0 1 3 4.6V20"/>',
  hand: '<path d="M8 12.5V5a1.5 1.5 0 0 1 3 0v6"/><path d="M11 10.5V3.5a1.5 1.5 0 0 1 3 0v7"/><path d="M14 10.5V5a1.5 1.5 0 0 1 3 0v7.5"/><path d="M17 9.5a1.5 1.5 0 0 1 3 0V14a7 7 0 0 1-7 7h-1.2a6 6 0 0 1-4.6-2.2L4 15a1.6 1.6 0 0 1 2.3-2.2L8 14.5"/>',
  more: '<circle cx="12" cy="5.5" r="1.3"/><circle cx="12" cy="12" r="1.3"/><circle cx="12" cy="18.5" r="1.3"/>',
  end: '<path d="M3 14.5c5-4.5 13-4.5 18 0l-2.2 2.6-3.3-1.6v-2.6a11 11 0 0 0-7 0v2.6l-3.3 1.6z"/>',
  lock: '<rect x="5" y="10.5" width="14" height="10" rx="2"/><path d="M8 10.5V7.5a4 4 0 0 1 8 0v3"/>',
  unlock: '<rect x="5" y="10.5" width="14" height="10" rx="2"/><path d="M8 10.5V7.5a4 4 0 0 1 7.6-1.8"/>',
  micOn: '<rect x="9" y="2.5" width="6" height="11.5" rx="3"/><path d="M5 10.5v.5a7 7 0 0 0 14 0v-.5"/><path d="M12 18v3.5"/>',
  micOff: '<rect x="9" y="2.5" width="6" height="11.5" rx="3"/><path d="M5 10.5v.5a7 7 0 0 0 14 0v-.5"/><path d="M12 18v3.5"/><path d="M3.5 3.5l17 17"/>',
  star: '<path d="M12 3.5l2.6 5.4 5.9.8-4.3 4.1 1 5.8L12 16.8l-5.2 2.8 1-5.8-4.3-4.1 5.9-.8z"/>',
  // Recording (recording.js): a ring with a filled dot, and the ring with a filled square to stop.
  record: '<circle cx="12" cy="12" r="8.5"/><circle cx="12" cy="12" r="4" fill="currentColor"/>',
  recordStop: '<circle cx="12" cy="12" r="8.5"/><rect x="8.5" y="8.5" width="7" height="7" rx="1" fill="currentColor"/>',
};

/** The markup of a room icon; decorative, so hidden from screen readers. */
export function roomIcon(name) {
  return `<svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${PATHS[name] || ''}</svg>`;
}

/**
 * Renders btn as icon + visible text, as icons.js renderButton does.
 * ariaLabel names the action for screen readers; pressed, when given, sets
 * aria-pressed for toggles.
 */
export function renderRoomButton(btn, { iconName, text, ariaLabel, pressed }) {
  btn.innerHTML = `${roomIcon(iconName)}<span class="btn__text"></span>`;
  btn.querySelector('.btn__text').textContent = text;
  btn.setAttribute('aria-label', ariaLabel || text);
  btn.title = ariaLabel || text;
  if (pressed !== undefined) btn.setAttribute('aria-pressed', String(pressed));
}
