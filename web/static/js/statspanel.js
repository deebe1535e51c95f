// statspanel.js: the "Connection details" panel.
//
// One job: show, per track, what we send and what we receive: resolution,
// frame rate, bitrate, round trip and packet loss, from the samples of
// stats.js. Support staff ask for exactly these figures when a call is poor
// ("what does your panel say?"). The panel opens from a header button
// (aria-expanded), closes with its own button or Escape (focus returns to the
// toggle), and is not a live region: figures changing every two seconds
// would drown a screen reader.

import { renderButton } from './icons.js';
import { t } from './i18n.js';
import { videoStory, storyText } from './videostate.js';

/** Sources, simulcast layers and quality limitations with words in the catalogue; others show as they are. */
const SOURCES = new Set(['camera', 'microphone', 'screen', 'screen_audio']);
const RIDS = new Set(['q', 'h', 'f']);
const LIMITATIONS = new Set(['cpu', 'bandwidth', 'other']);

export class StatsPanel {
  /**
   * @param {{toggle: HTMLButtonElement, panel: HTMLElement, body: HTMLElement, close: HTMLButtonElement}} els
   * @param {import('./stats.js').StatsMonitor} monitor
   * @param {(participantId: string) => string} nameOf  a remote participant's display name
   */
  constructor(els, monitor, nameOf, relay = '') {
    this.els = els;
    this.relay = relay; // the page's forced-relay switch (icepolicy.js), shown so support sees it
    this.monitor = monitor;
    this.nameOf = nameOf;
    this.open = false;
    renderButton(els.toggle, { iconName: 'stats', text: t('stats.button'), ariaLabel: t('stats.title') });
    els.toggle.setAttribute('aria-expanded', 'false');
    els.toggle.setAttribute('aria-controls', els.panel.id);
    renderButton(els.close, { iconName: 'close', text: t('common.close'), ariaLabel: t('stats.close.aria') });
    els.toggle.addEventListener('click', () => this.setOpen(!this.open));
    els.close.addEventListener('click', () => {
      this.setOpen(false);
      els.toggle.focus();
    });
    els.panel.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Escape') return;
      this.setOpen(false);
      els.toggle.focus();
    });
    monitor.subscribe((sample) => {
      if (this.open) this.#render(sample);
    });
  }

  setOpen(open) {
    this.open = open;
    this.els.panel.hidden = !open;
    this.els.toggle.setAttribute('aria-expanded', String(open));
    if (!open) return;
    this.#render(this.monitor.latest);
    // Fresh figures now rather than in up to two seconds.
    this.monitor.poll().then((s) => this.open && s && this.#render(s));
  }

  #render(sample) {
    const body = this.els.body;
    body.textContent = '';
    if (sample) body.append(this.#connection(sample));
    if (!sample || sample.rows.length === 0) {
      const p = document.createElement('p');
      p.className = 'stats-panel__empty';
      p.textContent = t('stats.empty');
      body.append(p);
      return;
    }
    const out = sample.rows.filter((r) => r.direction === 'out');
    if (out.length > 0) body.append(this.#group(t('stats.sending'), out));
    const byPerson = new Map();
    for (const r of sample.rows.filter((x) => x.direction === 'in')) {
      const key = r.participantId || '?';
      if (!byPerson.has(key)) byPerson.set(key, []);
      byPerson.get(key).push(r);
    }
    for (const [pid, rows] of byPerson) body.append(this.#group(t('stats.from', { name: this.nameOf(pid) || t('stats.someone') }), rows));
  }

  /** Which candidate pair each PC uses: direct or relayed, UDP or TCP (support asks first). */
  #connection(sample) {
    const section = document.createElement('section');
    section.className = 'stats-group stats-group--connection';
    const h = document.createElement('h3');
    h.className = 'stats-group__title';
    h.textContent = t('stats.connection');
    const dl = document.createElement('dl');
    dl.className = 'stats-row__figures';
    for (const target of ['publish', 'subscribe']) {
      const p = sample.path && sample.path[target];
      const dt = document.createElement('dt');
      dt.textContent = t(`stats.path.${target}`);
      const dd = document.createElement('dd');
      dd.dataset.path = target;
      if (p) {
        dd.dataset.type = p.type;
        dd.dataset.protocol = p.protocol;
        dd.dataset.relayProtocol = p.relayProtocol;
      }
      dd.textContent = describePath(p);
      dl.append(dt, dd);
    }
    section.append(h, dl);
    if (this.relay) {
      const note = document.createElement('p');
      note.className = 'stats-panel__note';
      note.textContent = t('stats.forcedRelay', { value: this.relay === 'any' ? '1' : this.relay });
      section.append(note);
    }
    return section;
  }

  #group(title, rows) {
    const section = document.createElement('section');
    section.className = 'stats-group';
    const h = document.createElement('h3');
    h.className = 'stats-group__title';
    h.textContent = title;
    section.append(h);
    for (const r of rows) section.append(this.#row(r));
    return section;
  }

  #row(r) {
    const item = document.createElement('div');
    item.className = 'stats-row';
    item.dataset.direction = r.direction;
    item.dataset.kind = r.kind;
    const name = document.createElement('div');
    name.className = 'stats-row__name';
    const source = SOURCES.has(r.source) ? t(`stats.source.${r.source}`) : r.source;
    name.textContent = r.rid ? t('stats.layer', { source, rid: RIDS.has(r.rid) ? t(`stats.rid.${r.rid}`) : r.rid }) : source;
    const dl = document.createElement('dl');
    dl.className = 'stats-row__figures';
    const add = (label, value) => {
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.textContent = value;
      dl.append(dt, dd);
    };
    if (!r.active) {
      // Dynacast turned this layer off: nobody in the room needs this size now.
      add(t('stats.status'), t('stats.notSent'));
      item.append(name, dl);
      return item;
    }
    if (r.kind === 'video') {
      add(t('stats.resolution'), r.width && r.height ? `${r.width}\u00d7${r.height}` : '\u2014');
      add(t('stats.frameRate'), r.fps ? `${Math.round(r.fps)} fps` : '\u2014');
    }
    // Received video: the same story as its tile's notice and quality mark (videostate.js).
    const story = r.direction === 'in' && r.kind === 'video' ? storyText(videoStory(r.streamState)) : '';
    if (story) add(t('stats.status'), story);
    add(t('stats.bitrate'), formatBitrate(r.bitrate));
    add(t('stats.rtt'), r.rtt === null ? '\u2014' : `${r.rtt} ms`);
    add(t('stats.loss'), r.loss === null ? '\u2014' : `${(r.loss * 100).toFixed(1)} %`);
    if (r.limitation && r.limitation !== 'none') {
      add(t('stats.limitedBy'), LIMITATIONS.has(r.limitation) ? t(`stats.limitation.${r.limitation}`) : r.limitation);
    }
    item.append(name, dl);
    return item;
  }
}

function describePath(p) {
  if (!p) return t('stats.path.none');
  const known = ['host', 'srflx', 'prflx', 'relay'].includes(p.type);
  const type = known ? t(`stats.candidate.${p.type}`) : p.type;
  const protocol = p.protocol.toUpperCase();
  if (p.type === 'relay' && p.relayProtocol) return t('stats.path.relayed', { type, protocol, relayProtocol: p.relayProtocol.toUpperCase() });
  return t('stats.path.value', { type, protocol });
}

function formatBitrate(bps) {
  if (!bps) return '0 kbit/s';
  if (bps >= 1_000_000) return `${(bps / 1_000_000).toFixed(2)} Mbit/s`;
  return `${Math.round(bps / 1000)} kbit/s`;
}
