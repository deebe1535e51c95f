// errors.js: the server's error codes in words.
//
// One job: a short title for every error code of signaling/PROTOCOL.md (and
// issue 7's additions), for banners and for the join screen after the server
// ended our session. No state, no DOM.

const ERROR_TITLES = {
  media_failed: 'Media connection failed.',
  invalid_sdp: 'Media setup was refused.',
  negotiation_failed: 'Media setup failed.',
  unsupported_version: 'This page is out of date.',
  bad_request: 'Request refused.',
  internal: 'Server problem.',
  token_missing: 'This room needs an invitation link.',
  token_malformed: 'The invitation link is damaged.',
  token_invalid: 'The invitation link is not valid here.',
  token_expired: 'The invitation link has expired.',
  token_not_yet_valid: 'The invitation link is not valid yet.',
  token_wrong_room: 'The invitation is for another room.',
  insufficient_grant: 'Not allowed.',
  banned: 'You may not join this room.',
  room_full: 'The room is full.',
  room_locked: 'The room is locked.',
  removed: 'You were removed from the room.',
  room_closed: 'The host ended the call.',
  in_lobby: 'Waiting for the host to let you in.',
  lobby_declined: 'The host did not let you in.',
  lobby_full: 'Too many people are waiting to join.',
  chat_disabled: 'The host turned off chat.',
};

/** A short title for an error code; a generic one for codes this page does not know. */
export function errorTitle(code) {
  return ERROR_TITLES[code] || 'Something went wrong.';
}
