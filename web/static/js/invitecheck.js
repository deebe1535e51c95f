// invitecheck.js: what can be told about an invitation link before pressing Join.
//
// One job: from the link's token (decoded, not verified, by joinlink.js) say whether it cannot work —
// expired, not valid yet, damaged, or for another room — so that the person is told at once, in words
// they understand and with what to do, instead of after pressing Join. The server still verifies every
// token; this only spares a patient a Join that cannot succeed. Codes are the server's error codes, so
// the words come from the same catalogue entries whichever side found the problem.

import { t } from './i18n.js';

/** Tokens are checked against this device's clock, which may be off by a little. */
const CLOCK_SLACK_SECONDS = 60;

/**
 * The problem with an invitation, as a server error code, or '' when none can be seen here.
 * @param {{token: string, claims: object, room: string}} inv  from readInvitation()
 * @param {number} nowMs  the time to check against (Date.now())
 */
export function invitationProblem(inv, nowMs) {
  if (!inv.token) return '';
  const c = inv.claims || {};
  if (typeof c.room !== 'string' || typeof c.sub !== 'string') return 'token_malformed';
  if (inv.room && c.room !== inv.room) return 'token_wrong_room';
  const now = nowMs / 1000;
  if (typeof c.exp === 'number' && c.exp + CLOCK_SLACK_SECONDS < now) return 'token_expired';
  if (typeof c.nbf === 'number' && c.nbf - CLOCK_SLACK_SECONDS > now) return 'token_not_yet_valid';
  return '';
}

/** Who to ask for a new link, by the room's mode as the token states it. */
function inviterKey(claims) {
  const mode = claims && claims.policy && claims.policy.mode;
  if (mode === 'consultation') return 'clinician';
  if (mode === 'classroom') return 'teacher';
  return 'host';
}

/**
 * The words for a link problem (code from invitationProblem or from the server): a title and what to
 * do, naming the clinician or teacher where the room's mode says who invited.
 */
export function invitationProblemText(code, claims) {
  const who = t(`invitation.who.${inviterKey(claims)}`);
  return { title: t(`invitation.${code}.title`), text: t(`invitation.${code}.text`, { who }) };
}

/** The token codes invitationProblemText has words for. */
export const INVITATION_CODES = ['token_malformed', 'token_wrong_room', 'token_expired', 'token_not_yet_valid', 'token_invalid'];
