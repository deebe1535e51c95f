// waitlist.js: who waits in the lobby, as a moderator sees it.
//
// One job: render the moderators' `lobby_update` list (signaling/PROTOCOL.md
// "The lobby") as a card over the call: each waiter's name and since when
// they wait, with Admit and Decline buttons, a count in its heading and on
// the People button's badge, and a polite announcement when someone arrives
// (a clinician busy with another patient must notice a new one). Pressing a
// button calls back; the list changes when the server's next update says so.

import { t, tn, formatTime } from './i18n.js';

export class WaitList {
  /**
   * @param {{card: HTMLElement, title: HTMLElement, list: HTMLElement}} els
   * @param {{onAdmit(id: string): Promise<boolean>, onDecline(id: string): Promise<boolean>,
   *          announce(text: string): void, onChange(count: number): void}} hooks
   */
  constructor({ card, title, list }, hooks) {
    this.card = card;
    this.title = title;
    this.list = list;
    this.hooks = hooks;
    this.waiting = []; // [{participantId, name, identity, since}], longest first
    this.busy = new Set(); // ids with an admit/decline in flight
  }

  /** A `lobby_update`: the whole list. */
  update(waiting) {
    const next = Array.isArray(waiting) ? waiting.filter((w) => w && w.participantId) : [];
    const before = new Set(this.waiting.map((w) => w.participantId));
    const arrived = next.filter((w) => !before.has(w.participantId));
    this.waiting = next;
    for (const id of [...this.busy]) if (!next.some((w) => w.participantId === id)) this.busy.delete(id);
    this.#render();
    if (arrived.length === 1) this.hooks.announce(t('lobby.arrived', { name: arrived[0].name || t('common.someone') }));
    else if (arrived.length > 1) this.hooks.announce(tn('lobby.arrivedMany', arrived.length));
    this.hooks.onChange(next.length);
  }

  /** Nobody waits (we left, or we are no moderator). */
  clear() {
    this.waiting = [];
    this.busy.clear();
    this.#render();
    this.hooks.onChange(0);
  }

  /** For tests: [{participantId, name, identity, since}]. */
  snapshot() {
    return this.waiting.map((w) => ({ ...w }));
  }

  #render() {
    const n = this.waiting.length;
    this.card.hidden = n === 0;
    this.title.textContent = tn('lobby.waiting', n);
    this.list.replaceChildren(...this.waiting.map((w) => this.#row(w)));
  }

  #row(w) {
    const li = document.createElement('li');
    li.className = 'waitlist__row';
    li.dataset.participantId = w.participantId;
    const who = document.createElement('div');
    who.className = 'waitlist__who';
    const name = document.createElement('span');
    name.className = 'waitlist__name';
    name.textContent = w.name || w.identity || t('common.someone');
    const since = document.createElement('time');
    since.className = 'waitlist__since';
    const at = new Date(w.since);
    if (!Number.isNaN(at.getTime())) {
      since.dateTime = at.toISOString();
      since.textContent = t('lobby.since', { time: formatTime(at) });
    }
    who.append(name, since);

    const actions = document.createElement('div');
    actions.className = 'waitlist__actions';
    const label = name.textContent;
    const pid = w.participantId;
    const admit = this.#button(pid, 'admit', t('lobby.admit'), t('lobby.admit.aria', { name: label }), 'btn--primary', () => this.hooks.onAdmit(pid));
    const decline = this.#button(pid, 'decline', t('lobby.decline'), t('lobby.decline.aria', { name: label }), '', () => this.hooks.onDecline(pid));
    actions.append(admit, decline);
    li.append(who, actions);
    return li;
  }

  #button(pid, action, text, ariaLabel, extra, run) {
    const b = document.createElement('button');
    b.type = 'button';
    b.id = `lobby-${action}-${pid}`;
    b.className = `btn btn--small ${extra}`.trim();
    b.textContent = text;
    b.setAttribute('aria-label', ariaLabel);
    b.title = ariaLabel;
    b.disabled = this.busy.has(pid);
    b.addEventListener('click', async () => {
      if (this.busy.has(pid)) return;
      this.busy.add(pid);
      for (const x of b.parentElement.querySelectorAll('button')) x.disabled = true;
      const ok = await run();
      if (!ok) {
        // Refused (e.g. the room is full): let the moderator try again.
        this.busy.delete(pid);
        this.#render();
      }
    });
    return b;
  }
}
