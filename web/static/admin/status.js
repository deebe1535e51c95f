// status.js: the admins' status page at /admin/.
//
// One job: show what the deployment is doing now — its nodes and their load, the rooms, and each room's
// participants with their tracks, bitrates and layers — from the admin API, refreshed every two
// seconds. Read-only. Nothing is shown without a token carrying the admin grant (a tokenless request
// is answered only in dev mode, from the server's own machine): the page asks for one, keeps it in this
// tab's sessionStorage, and asks again when the API refuses it. Every word is the catalogue's.

import { t, hasText, translatePage, formatTime, language } from '../js/i18n.js';

const STORE_KEY = 'huddle.adminToken';
const REFRESH_MS = 2000;
const $ = (id) => document.getElementById(id);

let token = readToken();
let timer = null;
/** The last data shown, for the tests (window.huddleStatus). */
let shown = { view: 'loading', nodes: [], rooms: [] };

function readToken() {
  try {
    return sessionStorage.getItem(STORE_KEY) || '';
  } catch {
    return '';
  }
}

function saveToken(value) {
  token = value;
  try {
    if (value) sessionStorage.setItem(STORE_KEY, value);
    else sessionStorage.removeItem(STORE_KEY);
  } catch {
    // Storage disabled: the token lives as long as the page.
  }
}

/** GETs an admin API path; throws {auth: true} when the token is missing or refused. */
async function api(path) {
  const resp = await fetch(`/admin/v1/${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {}, cache: 'no-store' });
  if (resp.status === 401 || resp.status === 403) throw Object.assign(new Error('refused'), { auth: true });
  if (!resp.ok) throw new Error(`${resp.status}`);
  return resp.json();
}

async function refresh() {
  clearTimeout(timer);
  try {
    const [{ nodes }, { rooms }] = await Promise.all([api('nodes'), api('rooms')]);
    const people = await Promise.all(rooms.map((r) =>
      api(`rooms/${encodeURIComponent(r.name)}/participants`).then((b) => b.participants).catch(() => [])));
    render(nodes, rooms.map((r, i) => ({ ...r, people: people[i] })));
    timer = setTimeout(refresh, REFRESH_MS);
  } catch (err) {
    if (err.auth) {
      showLogin(token ? t('admin.login.refused') : '');
      return;
    }
    $('status-updated').textContent = t('admin.error');
    timer = setTimeout(refresh, REFRESH_MS);
  }
}

function showLogin(error) {
  shown = { view: 'login', nodes: [], rooms: [] };
  $('status-data').hidden = true;
  $('status-logout').hidden = true;
  $('status-updated').textContent = '';
  $('status-rooms').replaceChildren();
  $('status-nodes').replaceChildren();
  $('status-login').hidden = false;
  $('status-login-error').hidden = !error;
  $('status-login-error').textContent = error;
  $('status-token').focus();
}

/** A table with a header row of keys and one row per item of cells (strings). */
function table(el, headKeys, rows) {
  const head = document.createElement('tr');
  for (const key of headKeys) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = t(key);
    head.append(th);
  }
  const body = rows.map((cells) => {
    const tr = document.createElement('tr');
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = c;
      tr.append(td);
    }
    return tr;
  });
  el.replaceChildren(head, ...body);
  return el;
}

const kbps = (bps) => t('admin.kbps', { value: Math.round(bps / 1000).toLocaleString(language()) });

function trackText(tr) {
  const source = hasText(`admin.source.${tr.source}`) ? t(`admin.source.${tr.source}`) : tr.source;
  const layers = (tr.layers || []).filter((l) => l.rid).map((l) => `${l.rid} ${kbps(l.bitrateBps)}`).join(' · ');
  const codec = (tr.codec || '').replace(/^(audio|video)\//i, '');
  return [source, codec, kbps(tr.bitrateBps || 0), layers && `(${layers})`, tr.muted && t('admin.muted')].filter(Boolean).join(' ');
}

function render(nodes, rooms) {
  shown = { view: 'data', nodes, rooms };
  $('status-login').hidden = true;
  $('status-data').hidden = false;
  $('status-logout').hidden = !token;
  $('status-updated').textContent = t('admin.updated', { time: formatTime(new Date()) });
  table($('status-nodes'), ['admin.col.node', 'admin.col.rooms', 'admin.col.participants', 'admin.col.tracks', 'admin.col.cpu', 'admin.col.state'],
    nodes.map((n) => [n.region ? `${n.id} (${n.region})` : n.id, String(n.rooms), String(n.participants), String(n.tracks),
      `${Math.round(n.cpu * 100)} %`, t(n.draining ? 'admin.state.draining' : 'admin.state.serving')]));
  $('status-no-rooms').hidden = rooms.length > 0;
  $('status-rooms').replaceChildren(...rooms.map((r) => {
    const section = document.createElement('section');
    section.className = 'status-room';
    section.dataset.room = r.name;
    const h = document.createElement('h3');
    h.className = 'status-room__title';
    const mode = r.policy && hasText(`admin.mode.${r.policy.mode}`) ? t(`admin.mode.${r.policy.mode}`) : '';
    h.textContent = [r.name, mode, t('admin.room.people', { n: r.participants, waiting: r.waiting || 0 })].filter(Boolean).join(' · ');
    const tbl = document.createElement('table');
    tbl.className = 'status-table';
    table(tbl, ['admin.col.name', 'admin.col.role', 'admin.col.node', 'admin.col.media'],
      (r.people || []).map((p) => [p.name || p.identity, (hasText(`admin.role.${p.role}`) ? t(`admin.role.${p.role}`) : p.role || ''), p.node || '',
        (p.tracks || []).map(trackText).join(' / ') || t('admin.noMedia')]));
    section.append(h, tbl);
    return section;
  }));
}

$('status-login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  saveToken($('status-token').value.trim());
  $('status-token').value = '';
  refresh();
});
$('status-logout').addEventListener('click', () => {
  saveToken('');
  clearTimeout(timer);
  showLogin('');
});

translatePage();
document.title = t('admin.title');
window.huddleStatus = () => shown;
refresh();
