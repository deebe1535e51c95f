// grants.js: what the server's grants mean for this client.
//
// One job: answer "may we send this source?" from a Grants object
// (signaling/PROTOCOL.md "Tokens, roles and grants"), guess the grants from
// an invitation's token before joining (so someone who may only watch is
// never asked for a camera), tell what a grant change added or took away, and
// word the calm status line for each of these. It holds no state and never
// touches the DOM; the server enforces grants whatever this module says.

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

const NOUNS = { microphone: 'microphone', camera: 'camera', screen: 'screen sharing' };

function list(sources) {
  const words = sources.map((s) => NOUNS[s] || s);
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/** For someone who may publish nothing. */
export const WATCHING_TEXT = 'You\u2019re watching. The host can let you speak.';

/** On the join screen, for a token that most likely lets us only watch. */
export const WATCH_ONLY_JOIN_TEXT = 'You\u2019ll join to watch and listen. The host can let you speak.';

/**
 * The status to show after joining with grants (null: nothing to say, the
 * usual case). missing lists the sources granted that we have no device
 * for yet, because we did not ask for them before joining.
 */
export function joinedText(grants, missing = []) {
  if (!canPublishAnything(grants)) return WATCHING_TEXT;
  if (missing.length > 0) return `You may use your ${list(missing)}. Turn ${missing.length > 1 ? 'them' : 'it'} on when you are ready.`;
  return null;
}

/** After a grant change; null when no control changed. */
export function changedText(grants, { added, removed }) {
  const parts = [];
  if (removed.length > 0) parts.push(`The host turned off your ${list(removed)}.`);
  if (added.length > 0) {
    const use = added.filter((s) => s !== 'screen');
    if (use.length > 0) parts.push(`The host let you use your ${list(use)}.`);
    if (added.includes('screen')) parts.push('The host let you share your screen.');
  } else if (removed.length > 0 && !canPublishAnything(grants)) {
    parts.push(WATCHING_TEXT);
  }
  return parts.length > 0 ? parts.join(' ') : null;
}

/** After a moderator muted (or unmuted) one of our tracks. */
export function moderatorText(source, muted) {
  if (source === 'screen') return muted ? 'The host paused your screen share.' : 'The host resumed your screen share.';
  if (source === 'camera') {
    return muted ? 'The host turned off your camera.' : 'The host let you turn your camera on again. It stays off until you turn it on.';
  }
  return muted ? 'The host muted your microphone.' : 'The host let you unmute your microphone. It stays muted until you unmute it.';
}
