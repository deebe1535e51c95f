// participants.js: the People panel.
//
// One job: list everyone in the room (ourselves first) with their role in
// the room's words (roles.js), whether their microphone is on, a raised hand
// and the spotlight; show the raised hands in the order they went up; and, for
// moderators, offer the room's tools (mute everyone, chat on/off, lock, end for
// everyone), the actions on each hand (allow the microphone or camera, lower
// it) and a menu of actions per person (actionmenu.js). It is opened from the
// header, whose button carries a badge with what needs a moderator's
// attention (raised hands and people waiting). It renders a view it is given
// and calls back; it keeps no room state of its own.

import { renderButton } from './icons.js';
import { renderRoomButton, roomIcon } from './roomicons.js';
import { ActionMenu } from './actionmenu.js';
import { t, tn } from './i18n.js';

/** The words for a person's microphone state: on, muted or none. */
const micText = (state) => t(`people.mic.${state}`);

export class PeoplePanel {
  /**
   * @param {{toggle: HTMLButtonElement, badge: HTMLElement, panel: HTMLElement, close: HTMLButtonElement,
   *          title: HTMLElement, tools: HTMLElement, handsSection: HTMLElement, handsTitle: HTMLElement,
   *          hands: HTMLElement, list: HTMLElement, muteAll: HTMLButtonElement, chatToggle: HTMLButtonElement,
   *          lockToggle: HTMLButtonElement, end: HTMLButtonElement}} els
   * @param {{onOpen(): void, itemsFor(id: string): object[], allow(id: string, source: string): void,
   *          lower(id: string): void, muteAll(): void, setChat(on: boolean): void, setLocked(on: boolean): void,
   *          end(): void}} hooks
   */
  constructor(els, hooks) {
    Object.assign(this, els);
    this.hooks = hooks;
    this.open = false;
    this.view = null;
    this.dirty = false; // a render waits for the open menu to close
    this.retry = 0; // timer of that wait
    this.menus = new Map(); // participant id -> ActionMenu of its row

    renderButton(this.close, { iconName: 'close', text: t('common.close'), ariaLabel: t('people.close.aria') });
    this.toggle.addEventListener('click', () => this.setOpen(!this.open));
    this.close.addEventListener('click', () => this.setOpen(false, true));
    this.panel.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && !ev.defaultPrevented) this.setOpen(false, true);
    });
    this.muteAll.addEventListener('click', () => this.hooks.muteAll());
    this.chatToggle.addEventListener('click', () => this.hooks.setChat(!(this.view && this.view.roomState.chatEnabled)));
    this.lockToggle.addEventListener('click', () => this.hooks.setLocked(!(this.view && this.view.roomState.locked)));
    this.end.addEventListener('click', () => this.hooks.end());
    this.#renderToggle(0, '');
  }

  setOpen(open, restoreFocus = false) {
    if (this.open === !!open) return;
    this.open = !!open;
    this.panel.hidden = !open;
    if (open) {
      this.hooks.onOpen();
      this.#render();
      this.title.focus();
    } else {
      ActionMenu.closeAll();
      if (restoreFocus) this.toggle.focus();
    }
    this.toggle.setAttribute('aria-expanded', String(this.open));
  }

  /**
   * Shows view: {people: [{id, name, roleLabel, self, moderator, mic, hand, spotlight}],
   * hands: [{id, name, self}], moderator, words, roomState, waiting, canGrant(id)}.
   */
  update(view) {
    this.view = view;
    const attention = view.moderator ? view.hands.length + view.waiting : 0;
    const parts = [];
    if (view.moderator && view.hands.length > 0) parts.push(tn('people.handsCount', view.hands.length));
    if (view.moderator && view.waiting > 0) parts.push(t('people.waitingCount', { n: view.waiting }));
    this.#renderToggle(attention, parts.join(t('common.listSep')));
    if (!this.open) return;
    if (ActionMenu.isOpen()) {
      // Not under an open menu (its row would vanish): once it closes.
      if (!this.dirty) {
        this.dirty = true;
        this.retry = setTimeout(() => {
          this.dirty = false;
          this.update(this.view);
        }, 300);
      }
      return;
    }
    clearTimeout(this.retry);
    this.#render();
  }

  #renderToggle(n, detail) {
    renderRoomButton(this.toggle, { iconName: 'people', text: t('people.button'), ariaLabel: detail ? t('people.button.detail', { detail }) : t('people.button') });
    this.toggle.setAttribute('aria-expanded', String(this.open));
    this.toggle.setAttribute('aria-controls', this.panel.id);
    this.toggle.classList.toggle('btn--attention', n > 0);
    this.badge.textContent = n > 99 ? '99+' : String(n);
    this.badge.hidden = n === 0;
    this.toggle.append(this.badge);
  }

  #render() {
    const v = this.view;
    if (!v) return;
    this.dirty = false;
    const focused = document.activeElement && this.panel.contains(document.activeElement) ? document.activeElement.id : '';
    this.title.textContent = t('people.titleCount', { n: v.people.length });

    // Room tools: moderators only.
    this.tools.hidden = !v.moderator;
    if (v.moderator) {
      renderRoomButton(this.muteAll, { iconName: 'micOff', text: t('people.muteAll'), ariaLabel: t('people.muteAll.aria') });
      const chatOn = !!v.roomState.chatEnabled;
      renderRoomButton(this.chatToggle, {
        iconName: 'chat',
        text: chatOn ? t('people.chatOn') : t('people.chatOff'),
        ariaLabel: chatOn ? t('people.chatOn.aria') : t('people.chatOff.aria'),
        pressed: chatOn,
      });
      const locked = !!v.roomState.locked;
      renderRoomButton(this.lockToggle, {
        iconName: locked ? 'lock' : 'unlock',
        text: locked ? t('people.locked') : t('people.lock', { room: v.words.room }),
        ariaLabel: locked ? t('people.locked.aria', { room: v.words.room }) : t('people.lock.aria', { room: v.words.room }),
        pressed: locked,
      });
      renderRoomButton(this.end, { iconName: 'end', text: v.words.end, ariaLabel: t('room.end.aria', { label: v.words.end }) });
    }

    // Raised hands, oldest first.
    this.handsSection.hidden = v.hands.length === 0;
    this.handsTitle.textContent = t('people.hands.titleCount', { n: v.hands.length });
    this.hands.replaceChildren(...v.hands.map((h, i) => this.#handRow(h, i, v)));

    // Everyone.
    const keep = new Set(v.people.map((p) => p.id));
    for (const id of [...this.menus.keys()]) if (!keep.has(id)) this.menus.delete(id);
    this.list.replaceChildren(...v.people.map((p) => this.#personRow(p, v)));
    if (focused) document.getElementById(focused)?.focus();
  }

  #handRow(h, i, v) {
    const li = document.createElement('li');
    li.className = 'people__hand';
    li.id = `hand-${h.id}`;
    const who = document.createElement('span');
    who.className = 'people__name';
    who.textContent = `${i + 1}. ${h.self ? t('common.you', { name: h.name }) : h.name}`;
    li.append(who);
    if (v.moderator && !h.self) {
      const actions = document.createElement('div');
      actions.className = 'people__actions';
      if (v.canGrant(h.id)) {
        actions.append(
          this.#action(`hand-mic-${h.id}`, t('people.allowMic'), t('people.allowMic.aria', { name: h.name }), () => this.hooks.allow(h.id, 'microphone'), 'btn--primary'),
          this.#action(`hand-cam-${h.id}`, t('people.allowCam'), t('people.allowCam.aria', { name: h.name }), () => this.hooks.allow(h.id, 'camera')),
        );
      }
      actions.append(this.#action(`hand-lower-${h.id}`, t('people.lower'), t('people.lower.aria', { name: h.name }), () => this.hooks.lower(h.id)));
      li.append(actions);
    }
    return li;
  }

  #personRow(p, v) {
    const li = document.createElement('li');
    li.className = 'people__row';
    li.id = `person-${p.id}`;
    li.dataset.participantId = p.id;
    const main = document.createElement('div');
    main.className = 'people__main';
    const name = document.createElement('span');
    name.className = 'people__name';
    name.textContent = p.self ? t('common.you', { name: p.name }) : p.name;
    const meta = document.createElement('span');
    meta.className = 'people__meta';
    const bits = [p.roleLabel];
    if (p.spotlight) bits.push(t('people.spotlight'));
    meta.textContent = bits.join(' \u00b7 ');
    main.append(name, meta);

    const state = document.createElement('div');
    state.className = 'people__state';
    if (p.hand >= 0) {
      const hand = document.createElement('span');
      hand.className = 'people__badge people__badge--hand';
      hand.innerHTML = roomIcon('hand');
      const raised = document.createElement('span');
      raised.textContent = t('people.handRaised');
      hand.append(raised);
      state.append(hand);
    }
    const mic = document.createElement('span');
    mic.className = `people__mic people__mic--${p.mic}`;
    mic.dataset.mic = p.mic;
    mic.innerHTML = roomIcon(p.mic === 'on' ? 'micOn' : 'micOff');
    const micLabel = document.createElement('span');
    micLabel.className = 'visually-hidden';
    micLabel.textContent = micText(p.mic);
    mic.title = micText(p.mic);
    mic.append(micLabel);
    state.append(mic);
    li.append(main, state);

    if (v.moderator) {
      const items = () => this.hooks.itemsFor(p.id);
      const btn = document.createElement('button');
      btn.id = `person-menu-${p.id}`;
      btn.className = 'btn btn--icon people__more';
      const menu = new ActionMenu(btn, items, p.self ? t('people.moreSelf') : t('tile.more', { name: p.name }));
      menu.onClosed = () => {
        if (!this.dirty) return;
        clearTimeout(this.retry);
        this.dirty = false;
        this.update(this.view);
      };
      this.menus.set(p.id, menu);
      li.append(btn);
    }
    return li;
  }

  #action(id, text, ariaLabel, run, extra = '') {
    const b = document.createElement('button');
    b.type = 'button';
    b.id = id;
    b.className = `btn btn--small ${extra}`.trim();
    b.textContent = text;
    b.setAttribute('aria-label', ariaLabel);
    b.title = ariaLabel;
    b.addEventListener('click', () => run());
    return b;
  }
}
