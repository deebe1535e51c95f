// joinlink.js: what the page's address says about the call to join.
//
// One job: read the invitation from the address once at start, and take the
// join token out of the address bar so it is not shared by accident (a copied
// URL, a screenshot, the browser's history). Join links carry the token in the
// fragment (`#room=R&token=JWT`, issue 7's contract): browsers never send a
// fragment to the server, so it stays out of request logs and Referer headers.
// The older query form (`?room=R&name=N&token=JWT&autojoin=1`) still works.
//
// The token is kept in memory by the caller (reconnects rejoin with it) and in
// this tab's sessionStorage, so reloading the page (what people do when a call
// misbehaves) still finds it; sessionStorage is per tab and is cleared when the
// tab closes. The token's claims are decoded here for display only (the name
// and room to show): the server verifies the signature, never this code.

const STORE_KEY = 'huddle.invitation';

/**
 * The claims of a join token, read (not verified) to fill in the form. {}
 * when the token cannot be read.
 */
function tokenClaims(token) {
  try {
    const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === 'object' ? claims : {};
  } catch {
    return {};
  }
}

/**
 * Reads the invitation from the address (and, after a reload, from this
 * tab's storage) and removes the token from the address bar.
 * @returns {{room: string, name: string, token: string, claims: object,
 *            fromLink: boolean, autojoin: boolean, camera: string}}
 *   fromLink: the room and token came from an invitation link, so the room
 *   is not the user's to change; name: the token's name, else ?name=.
 */
export function readInvitation() {
  const query = new URLSearchParams(location.search);
  const hash = new URLSearchParams(location.hash.replace(/^#/, ''));
  let token = hash.get('token') || query.get('token') || '';
  let room = hash.get('room') || query.get('room') || '';
  let restored = false;
  if (!token) {
    const saved = loadSaved();
    // Only for the same room: a link to another room must not reuse it.
    if (saved && (!room || saved.room === room)) {
      token = saved.token;
      room = room || saved.room;
      restored = true;
    }
  }
  const claims = token ? tokenClaims(token) : {};
  if (!room && typeof claims.room === 'string') room = claims.room;
  const tokenName = typeof claims.name === 'string' ? claims.name.trim() : '';

  const invitation = {
    room,
    name: tokenName || query.get('name') || '',
    tokenName,
    token,
    claims,
    fromLink: !!token && (hash.has('token') || query.has('token') || restored),
    autojoin: query.get('autojoin') === '1' && !!room && !!(tokenName || query.get('name')),
    camera: query.get('camera') || '',
  };
  if (token) {
    save(room, token);
    scrubAddress(query, hash);
  }
  return invitation;
}

/**
 * Rewrites the address without the token (no navigation, no history entry):
 * the fragment keeps only the room, the query loses `token`.
 */
function scrubAddress(query, hash) {
  query.delete('token');
  hash.delete('token');
  const q = query.toString();
  const h = hash.toString();
  history.replaceState(history.state, '', `${location.pathname}${q ? `?${q}` : ''}${h ? `#${h}` : ''}`);
}

function save(room, token) {
  try {
    sessionStorage.setItem(STORE_KEY, JSON.stringify({ room, token }));
  } catch {
    // Private mode may refuse storage: a reload then needs the link again.
  }
}

function loadSaved() {
  try {
    const v = JSON.parse(sessionStorage.getItem(STORE_KEY) || 'null');
    return v && typeof v.token === 'string' && typeof v.room === 'string' ? v : null;
  } catch {
    return null;
  }
}

/** Parameters that describe the page, not the invitation: kept in the address during a call. */
const PAGE_PARAMS = ['lang', 'relay'];

/**
 * The address to show during a call in room: `?room=` (a reload rejoins it)
 * plus the language and relay switches the page was opened with.
 */
export function callAddress(room) {
  const now = new URLSearchParams(location.search);
  const next = new URLSearchParams({ room });
  for (const p of PAGE_PARAMS) if (now.has(p)) next.set(p, now.get(p));
  return `?${next.toString()}`;
}
