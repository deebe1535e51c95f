// roles.js: the words a room's mode gives its people.
//
// One job: say who is who in the language of the room (signaling/PROTOCOL.md
// "Room policy", modes table): in a consultation the host is the clinician and
// an attendee the patient, in a classroom the teacher and a student, in a
// conference the chair and a participant. Every user-facing text of the room
// features that names a role comes from here, so a consultation never talks of
// "students". No state, no DOM.

const WORDS = {
  consultation: { host: 'clinician', attendee: 'patient', room: 'consultation', end: 'End consultation' },
  classroom: { host: 'teacher', attendee: 'student', room: 'class', end: 'End class' },
  conference: { host: 'chair', attendee: 'participant', room: 'call', end: 'End call for everyone' },
  '': { host: 'host', attendee: 'participant', room: 'call', end: 'End call for everyone' },
};

const ROLE_LABELS = { presenter: 'Presenter', observer: 'Observer' };

/** The words of mode (unknown modes get the plain ones). */
export function wordsOf(mode) {
  return WORDS[mode] || WORDS[''];
}

/** A participant's role as a short label for lists: "Clinician", "Student", "Presenter"... */
export function roleLabel(mode, role) {
  const w = wordsOf(mode);
  if (role === 'host') return capitalise(w.host);
  if (ROLE_LABELS[role]) return ROLE_LABELS[role];
  return capitalise(w.attendee);
}

/** What the lobby says to a waiter: the host's word when the mode is known, else the server's text. */
export function lobbyText(mode, serverMessage) {
  if (WORDS[mode] && mode !== '') return `Please wait: the ${wordsOf(mode).host} will let you in.`;
  return serverMessage || 'Please wait: the host will let you in.';
}

/**
 * The title for the end of our session when the server ended it with code
 * (null: not a room ending this module words; the caller's generic title
 * applies). endedByUs: we sent end_room ourselves.
 */
export function endedText(mode, code, endedByUs) {
  const w = wordsOf(mode);
  if (code === 'room_closed') {
    if (endedByUs) return `You ended the ${w.room}.`;
    return `The ${w.room} has ended.`;
  }
  if (code === 'lobby_declined') return `The ${w.host} did not let you in. You can ask again with Join room.`;
  return null;
}

function capitalise(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
