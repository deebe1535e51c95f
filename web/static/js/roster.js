// roster.js: the teacher's strip of students (issue 14).
//
// One job: in a classroom, students publish nothing until allowed, so they
// have no tile (roomlayout.js); a moderator still needs to see the class.
// The roster is a row under the stage with one entry per student present:
// an avatar as tiles draw it, the name, a raised hand (hands first, in the
// order they went up) and one button that lets the student speak or takes the
// microphone back. It renders a view it is given and calls back (roomui.js
// sends the requests through roomactions.js, as the People panel does); it
// keeps no room state of its own. Entries are updated in place so the strip's
// scroll position and the focused button survive each render.

import { avatarOf } from './tile.js';
import { roomIcon } from './roomicons.js';
import { t, tn } from './i18n.js';

export class Roster {
  /**
   * @param {{section: HTMLElement, title: HTMLElement, list: HTMLElement, empty: HTMLElement}} els
   * @param {{allow(id: string): Promise<unknown>, takeBack(id: string): Promise<unknown>}} hooks
   */
  constructor(els, hooks) {
    Object.assign(this, els);
    this.hooks = hooks;
    this.students = []; // as last rendered, in order
    this.entries = new Map(); // participant id -> {li, avatar, name, state, button}
    this.pending = new Set(); // ids whose request is on its way: their button waits
  }

  /**
   * Shows view: {shown, students: [{id, name, hand (queue index, -1: none), maySpeak}]}.
   * Hidden (everyone but a classroom's moderators), it lists nobody.
   */
  update(view) {
    const shown = !!view.shown;
    this.section.hidden = !shown;
    const students = shown ? [...view.students] : [];
    // Raised hands first, in the order they went up; the rest keep the given (name) order.
    const rank = (s) => (s.hand >= 0 ? s.hand : Number.MAX_SAFE_INTEGER);
    students.sort((a, b) => rank(a) - rank(b));
    this.students = students;
    if (!shown) {
      this.list.replaceChildren();
      this.entries.clear();
      return;
    }
    this.title.textContent = tn('roster.title', students.length);
    this.empty.hidden = students.length > 0;
    this.empty.textContent = t('roster.empty');

    const keep = new Set(students.map((s) => s.id));
    for (const [id, e] of this.entries) {
      if (!keep.has(id)) {
        e.li.remove();
        this.entries.delete(id);
      }
    }
    const items = students.map((s) => this.#render(s));
    const order = [...this.list.children];
    if (items.some((li, i) => order[i] !== li)) {
      // Moving an element blurs what is focused inside it: give the focus back.
      const active = document.activeElement;
      this.list.append(...items);
      if (active && active.isConnected && document.activeElement !== active) active.focus({ preventScroll: true });
    }
  }

  /** For tests: [{participantId, name, hand, maySpeak}] as listed (empty while hidden). */
  snapshot() {
    return this.students.map((s) => ({ participantId: s.id, name: s.name, hand: s.hand >= 0, maySpeak: !!s.maySpeak }));
  }

  /** Brings student s's entry up to date (made on first sight) and returns its element. */
  #render(s) {
    let e = this.entries.get(s.id);
    if (!e) {
      e = this.#create(s.id);
      this.entries.set(s.id, e);
    }
    e.s = s;
    const avatar = avatarOf(s.name);
    e.initials.textContent = avatar.text;
    e.avatar.style.backgroundColor = avatar.colour;
    // The place in the hand queue: a badge on the avatar, and words for screen readers.
    e.queue.hidden = s.hand < 0;
    e.queue.textContent = String(s.hand + 1);
    e.queueText.textContent = s.hand >= 0 ? ` ${t('roster.handQueue', { n: s.hand + 1 })}` : '';
    e.name.textContent = s.name;
    e.name.title = s.name; // the full name when the strip cuts it off
    e.li.classList.toggle('roster__item--hand', s.hand >= 0);
    e.li.classList.toggle('roster__item--speaks', !!s.maySpeak);

    let state, iconName = '';
    if (s.hand >= 0) [state, iconName] = [t('roster.hand'), 'hand'];
    else if (s.maySpeak) [state, iconName] = [t('roster.maySpeak'), 'micOn'];
    else state = t('roster.listening');
    e.stateText.textContent = state;
    if (e.stateIcon.dataset.icon !== iconName) {
      e.stateIcon.dataset.icon = iconName;
      e.stateIcon.innerHTML = iconName ? roomIcon(iconName) : '';
    }
    e.stateIcon.hidden = !iconName;

    const b = e.button;
    b.textContent = s.maySpeak ? t('roster.takeBack') : t('roster.allow');
    const label = s.maySpeak ? t('roster.takeBack.aria', { name: s.name }) : t('roster.allow.aria', { name: s.name });
    b.setAttribute('aria-label', label);
    b.title = label;
    b.classList.toggle('btn--primary', !s.maySpeak && s.hand >= 0);
    // aria-disabled, not disabled: a disabled button would drop the keyboard focus.
    b.setAttribute('aria-disabled', String(this.pending.has(s.id)));
    return e.li;
  }

  #create(id) {
    const li = document.createElement('li');
    li.className = 'roster__item';
    li.id = `roster-${id}`;
    li.dataset.participantId = id;
    const avatar = document.createElement('span');
    avatar.className = 'roster__avatar';
    avatar.setAttribute('aria-hidden', 'true');
    const initials = document.createElement('span');
    const queue = document.createElement('span');
    queue.className = 'roster__queue';
    avatar.append(initials, queue);
    const who = document.createElement('span');
    who.className = 'roster__who';
    const name = document.createElement('span');
    name.className = 'roster__name';
    const state = document.createElement('span');
    state.className = 'roster__state';
    const stateIcon = document.createElement('span');
    stateIcon.className = 'roster__icon';
    const stateText = document.createElement('span');
    stateText.className = 'roster__state-text';
    const queueText = document.createElement('span');
    queueText.className = 'visually-hidden';
    state.append(stateIcon, stateText, queueText);
    who.append(name, state);
    const button = document.createElement('button');
    button.type = 'button';
    button.id = `roster-mic-${id}`;
    button.className = 'btn btn--small roster__action';
    const e = { li, avatar, initials, queue, name, stateIcon, stateText, queueText, button, s: null };
    button.addEventListener('click', () => this.#toggle(e));
    li.append(avatar, who, button);
    return e;
  }

  /** Allows the student to speak, or takes the microphone back; the button waits for the answer. */
  async #toggle(e) {
    const s = e.s;
    if (!s || this.pending.has(s.id)) return;
    this.pending.add(s.id);
    this.#render(s);
    try {
      await (s.maySpeak ? this.hooks.takeBack(s.id) : this.hooks.allow(s.id));
    } finally {
      this.pending.delete(s.id);
      // The entry may be gone, or newer: render what we last heard about it.
      const now = this.students.find((x) => x.id === s.id);
      if (now && this.entries.get(s.id) === e) this.#render(now);
    }
  }
}
