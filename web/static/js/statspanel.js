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

const SOURCE_NAMES = { camera: 'Camera', microphone: 'Microphone', screen: 'Screen', screen_audio: 'Screen audio' };

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
    renderButton(els.toggle, { iconName: 'stats', text: 'Stats', ariaLabel: 'Connection details' });
    els.toggle.setAttribute('aria-expanded', 'false');
    els.toggle.setAttribute('aria-controls', els.panel.id);
    renderButton(els.close, { iconName: 'close', text: 'Close', ariaLabel: 'Close connection details' });
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
      p.textContent = 'No media is flowing yet.';
      body.append(p);
      return;
    }
    const out = sample.rows.filter((r) => r.direction === 'out');
    if (out.length > 0) body.append(this.#group('You are sending', out));
    const byPerson = new Map();
    for (const r of sample.rows.filter((x) => x.direction === 'in')) {
      const key = r.participantId || '?';
      if (!byPerson.has(key)) byPerson.set(key, []);
      byPerson.get(key).push(r);
    }
    for (const [pid, rows] of byPerson) body.append(this.#group(`From ${this.nameOf(pid) || 'someone'}`, rows));
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
    name.textContent = `${SOURCE_NAMES[r.source] || r.source}${r.rid ? ` \u00b7 layer ${r.rid}` : ''}`;
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
      add('Status', 'Not sent: no one needs this size now');
      item.append(name, dl);
      return item;
    }
    if (r.kind === 'video') {
      add('Resolution', r.width && r.height ? `${r.width}\u00d7${r.height}` : '\u2014');
      add('Frame rate', r.fps ? `${Math.round(r.fps)} fps` : '\u2014');
    }
    add('Bitrate', formatBitrate(r.bitrate));
    add('Round trip', r.rtt === null ? '\u2014' : `${r.rtt} ms`);
    add('Packet loss', r.loss === null ? '\u2014' : `${(r.loss * 100).toFixed(1)} %`);
    if (r.limitation && r.limitation !== 'none') add('Limited by', r.limitation);
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
