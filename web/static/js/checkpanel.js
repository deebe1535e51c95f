// checkpanel.js: the connectivity check on the pre-join screen.
//
// One job: run connectivity.js's check for the room about to be joined and
// say in plain words what it found ("Your network blocks UDP; using a secure
// relay"), with the per-path results under "Details" and a "Check again"
// button. It runs once the room is known, again on request, and stops when
// the user joins; it never stands in the way of joining.

import { runCheck, verdictKey } from './connectivity.js';
import { t } from './i18n.js';

const TONE = {
  'check.verdict.good': 'good',
  'check.verdict.tcp': 'good',
  'check.verdict.relay': 'warn',
  'check.verdict.none': 'bad',
  'check.verdict.checking': 'busy',
  'check.verdict.error': 'bad',
};

export class CheckPanel {
  /**
   * @param {{section: HTMLElement, summary: HTMLElement, paths: HTMLElement, again: HTMLButtonElement}} els
   * @param {{room: () => string, token: () => string}} source  what the next join would use
   */
  constructor(els, source) {
    this.els = els;
    this.source = source;
    this.run = 0; // the current run's number; results of older runs are dropped
    this.results = null;
    this.verdict = null;
    this.stopped = false;
    els.again.addEventListener('click', () => this.start());
  }

  /** Starts a check (a new one replaces a running one). Does nothing without a valid room. */
  start() {
    if (this.stopped) return;
    const room = this.source.room();
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(room)) {
      this.#show('check.verdict.noroom', null);
      return;
    }
    const run = ++this.run;
    this.els.again.disabled = true;
    const update = (results) => run === this.run && this.#show(verdictKey(results), results);
    runCheck({ room, token: this.source.token(), onUpdate: update })
      .then(update)
      .catch((err) => {
        if (run !== this.run) return;
        console.warn('huddle: connectivity check could not run', err);
        this.#show('check.verdict.error', null);
      })
      .finally(() => {
        if (run === this.run) this.els.again.disabled = false;
      });
  }

  /** Stops showing results (the user joined); a running check's socket closes when it ends. */
  stop() {
    this.stopped = true;
    this.run++;
  }

  #show(key, results) {
    this.verdict = key;
    this.results = results;
    const { summary, paths, section } = this.els;
    section.dataset.tone = TONE[key] || 'busy';
    summary.textContent = t(key);
    paths.textContent = '';
    for (const r of results || []) {
      const li = document.createElement('li');
      li.className = 'net-check__path';
      li.dataset.path = r.id;
      li.dataset.state = r.state;
      const name = document.createElement('span');
      name.className = 'net-check__name';
      name.textContent = t(`check.path.${r.id}`);
      const state = document.createElement('span');
      state.className = 'net-check__state';
      state.textContent = r.state === 'works' ? t('check.state.works', { ms: r.rtt }) : t(`check.state.${r.state}`);
      li.append(name, state);
      paths.append(li);
    }
  }
}

