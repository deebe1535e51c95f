// grants.js: what the server's grants mean for this client.
//
// One job: answer "may we send this source?" from a Grants object
// (signaling/PROTOCOL.md "Tokens, roles and grants"), guess the grants from
// an invitation's token before joining (so someone who may only watch is
// never asked for a camera), tell what a grant change added or took away, and
// word the calm status line for each of these. It holds no state and never
// touches the DOM; the server enforces grants whatever this module says.

import { t, tn, language } from './i18n.js';

/** The source of our camera tile's track of each kind, and back. */
export const SOURCE_OF_KIND = Object.freeze({ audio: 'microphone', video: 'camera' });
export const KIND_OF_SOURCE = Object.freeze({ microphone: 'audio', camera: 'video' });

/** The sources the user controls with a button: mic, camera, screen share. */
const CONTROLLED = ['microphone', 'camera', 'screen'];

const ALL_SOURCES = ['camera', 'microphone', 'screen', 'screen_audio'];

/**
 * Whether grants allow publishing source ('screen' also allows
 * 'screen_audio', as on the server). null grants mean "not known": a server
 * from before access control sends none and refuses nothing, so everything
 * is allowed.
 */
export function canPublish(grants, source) {
  if (!grants) return true;
  const p = Array.isArray(grants.publish) ? grants.publish : [];
  return p.includes(source) || (source === 'screen_audio' && p.includes('screen'));
}

/** Whether grants allow the camera or the microphone: worth asking for them. */
export function canPublishMedia(grants) {
  return canPublish(grants, 'microphone') || canPublish(grants, 'camera');
}

/** Whether grants allow publishing anything the user can turn on. */
export function canPublishAnything(grants) {
  return CONTROLLED.some((s) => canPublish(grants, s));
}

/**
 * The grants a join token will most likely get, read from its (unverified)
 * claims before joining, as the server's defaults per role and room mode;
 * null without a token (dev mode makes us a host) or when it cannot be read.
 * Only a guess: a room's configured mode or an admin's earlier grant change
 * can differ, so `joined` has the last word.
 */
export function expectedGrants(claims) {
  if (!claims || typeof claims !== 'object' || !claims.sub) return null;
  const g = (publish) => ({ publish, subscribe: true });
  // An observer never publishes, even when granted (its tracks would reveal it).
  if (claims.role === 'observer') return g([]);
  if (claims.grants && typeof claims.grants === 'object') {
    return g(Array.isArray(claims.grants.publish) ? claims.grants.publish.filter((s) => typeof s === 'string') : []);
  }
  switch (claims.role) {
    case 'host':
    case 'presenter':
      return g(ALL_SOURCES);
    default: // attendee, the default role
      return g(claims.policy && claims.policy.mode === 'classroom' ? [] : ['camera', 'microphone']);
  }
}

/** The user-controlled sources a grant change from before to after added and removed. */
export function publishChanges(before, after) {
  return {
    added: CONTROLLED.filter((s) => !canPublish(before, s) && canPublish(after, s)),
    removed: CONTROLLED.filter((s) => canPublish(before, s) && !canPublish(after, s)),
  };
}

// ---- Status line texts: short, calm, and saying what the user can do. ----

const NOUNS = new Set(['microphone', 'camera', 'screen']);

/** "microphone and camera", in the language's own way of listing (Intl.ListFormat). */
function list(sources) {
  const words = sources.map((s) => (NOUNS.has(s) ? t(`grants.noun.${s}`) : s));
  return new Intl.ListFormat(language(), { type: 'conjunction' }).format(words);
}

/** For someone who may publish nothing. */
export const WATCHING_TEXT = t('grants.watching');

/** On the join screen, for a token that most likely lets us only watch. */
export const WATCH_ONLY_JOIN_TEXT = t('grants.watchOnlyJoin');

/**
 * The status to show after joining with grants (null: nothing to say, the
 * usual case). missing lists the sources granted that we have no device
 * for yet, because we did not ask for them before joining.
 */
export function joinedText(grants, missing = []) {
  if (!canPublishAnything(grants)) return WATCHING_TEXT;
  if (missing.length > 0) return tn('grants.mayUse', missing.length, { list: list(missing) });
  return null;
}

/** After a grant change; null when no control changed. */
export function changedText(grants, { added, removed }) {
  const parts = [];
  if (removed.length > 0) parts.push(t('grants.removed', { list: list(removed) }));
  if (added.length > 0) {
    const use = added.filter((s) => s !== 'screen');
    if (use.length > 0) parts.push(t('grants.added', { list: list(use) }));
    if (added.includes('screen')) parts.push(t('grants.addedScreen'));
  } else if (removed.length > 0 && !canPublishAnything(grants)) {
    parts.push(WATCHING_TEXT);
  }
  return parts.length > 0 ? parts.join(' ') : null;
}

/** After a moderator muted (or unmuted) one of our tracks. */
export function moderatorText(source, muted) {
  if (source === 'screen') return muted ? t('grants.mod.screenPaused') : t('grants.mod.screenResumed');
  if (source === 'camera') return muted ? t('grants.mod.camOff') : t('grants.mod.camAllowed');
  return muted ? t('grants.mod.micMuted') : t('grants.mod.micAllowed');
}
