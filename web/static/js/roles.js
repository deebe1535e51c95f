// roles.js: the words a room's mode gives its people.
//
// One job: say who is who in the language of the room (signaling/PROTOCOL.md
// "Room policy", modes table): in a consultation the host is the clinician and
// an attendee the patient, in a classroom the teacher and a student, in a
// conference the chair and a participant. Every user-facing text of the room
// features that names a role comes from here, so a consultation never talks of
// "students". The words are the catalogue's (role.<mode>.*, i18n.js). No
// state, no DOM.

import { t, language } from './i18n.js';

/** The modes with words of their own; any other gets role.default.*. */
const MODES = new Set(['consultation', 'classroom', 'conference']);

/** The words of mode (unknown modes get the plain ones): {host, attendee, room, end}. */
export function wordsOf(mode) {
  const m = MODES.has(mode) ? mode : 'default';
  return {
    host: t(`role.${m}.host`),
    attendee: t(`role.${m}.attendee`),
    room: t(`role.${m}.room`),
    end: t(`role.${m}.end`),
  };
}

/** A participant's role as a short label for lists: "Clinician", "Student", "Presenter"... */
export function roleLabel(mode, role) {
  const w = wordsOf(mode);
  if (role === 'host') return capitalise(w.host);
  if (role === 'presenter') return t('role.label.presenter');
  if (role === 'observer') return t('role.label.observer');
  return capitalise(w.attendee);
}

/**
 * What the lobby says to a waiter: the host's word when the mode is known,
 * else the server's text (English: only in English).
 */
export function lobbyText(mode, serverMessage) {
  if (!MODES.has(mode) && serverMessage && language() === 'en') return serverMessage;
  return t('lobby.wait', { host: wordsOf(mode).host });
}

/**
 * The title for the end of our session when the server ended it with code
 * (null: not a room ending this module words; the caller's generic title
 * applies). endedByUs: we sent end_room ourselves.
 */
export function endedText(mode, code, endedByUs) {
  const w = wordsOf(mode);
  if (code === 'room_closed') {
    if (endedByUs) return t('role.ended.byUs', { room: w.room });
    return t('role.ended.other', { room: w.room });
  }
  if (code === 'lobby_declined') return t('role.ended.declined', { host: w.host });
  return null;
}

function capitalise(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
