// actionmenu.js: a small menu of actions behind a "More" button.
//
// One job: the moderators' per-person menus (on a tile, in the People panel):
// a button that opens a list of actions computed when it opens (so it always
// matches the room now), reachable and usable from the keyboard (arrows move,
// Escape closes and gives focus back, Tab leaves), closed by a click outside.
// The list is placed on the page, not inside the tile, so a tile's rounded
// clipping never cuts it; at most one menu is open at a time.

import { roomIcon } from './roomicons.js';
import { t } from './i18n.js';

export class ActionMenu {
  /** The menu open now, if any (one per page). */
  static #current = null;

  /** Whether a menu is open (lists re-render after it closes, not under it). */
  static isOpen() {
    return ActionMenu.#current !== null;
  }

  /** Closes whichever menu is open. */
  static closeAll() {
    ActionMenu.#current?.close(false);
  }

  /**
   * @param {HTMLButtonElement} button  the "More" button; gets the icon, aria-haspopup and aria-expanded
   * @param {() => {id: string, label: string, danger?: boolean, run(): void}[]} items
   * @param {string} label  the button's accessible name, e.g. "More actions for Sam"
   */
  constructor(button, items, label) {
    this.button = button;
    this.items = items;
    this.list = null;
    this.onClosed = null; // called after the menu closes
    button.type = 'button';
    button.innerHTML = roomIcon('more');
    button.setAttribute('aria-haspopup', 'menu');
    button.setAttribute('aria-expanded', 'false');
    this.setLabel(label);
    button.addEventListener('click', (ev) => {
      ev.stopPropagation(); // a tile's own click pins it
      if (this.list) this.close(true);
      else this.open();
    });
  }

  setLabel(label) {
    this.button.setAttribute('aria-label', label);
    this.button.title = label;
  }

  open() {
    ActionMenu.closeAll();
    const items = this.items();
    if (items.length === 0) return;
    const list = document.createElement('div');
    list.className = 'action-menu';
    list.setAttribute('role', 'menu');
    list.setAttribute('aria-label', this.button.getAttribute('aria-label') || t('menu.actions'));
    for (const it of items) {
      const b = document.createElement('button');
      b.type = 'button';
      b.id = it.id;
      b.className = `action-menu__item${it.danger ? ' action-menu__item--danger' : ''}`;
      b.setAttribute('role', 'menuitem');
      b.textContent = it.label;
      b.addEventListener('click', (ev) => {
        ev.stopPropagation();
        this.close(true);
        it.run();
      });
      list.append(b);
    }
    list.addEventListener('keydown', (ev) => this.#onKey(ev));
    list.addEventListener('focusout', (ev) => {
      // Tab away (not a click inside): close, focus goes where the user sent it.
      if (this.list && ev.relatedTarget && !this.list.contains(ev.relatedTarget) && ev.relatedTarget !== this.button) this.close(false);
    });
    document.body.append(list);
    this.list = list;
    ActionMenu.#current = this;
    this.button.setAttribute('aria-expanded', 'true');
    this.#place();
    this.outside = (ev) => {
      if (this.list && !this.list.contains(ev.target) && !this.button.contains(ev.target)) this.close(false);
    };
    document.addEventListener('pointerdown', this.outside, true);
    list.querySelector('button')?.focus();
  }

  /** Closes the menu; focus goes back to its button when refocus. */
  close(refocus) {
    if (!this.list) return;
    this.list.remove();
    this.list = null;
    if (ActionMenu.#current === this) ActionMenu.#current = null;
    document.removeEventListener('pointerdown', this.outside, true);
    this.button.setAttribute('aria-expanded', 'false');
    if (refocus && this.button.isConnected) this.button.focus();
    this.onClosed?.();
  }

  #onKey(ev) {
    const buttons = [...this.list.querySelectorAll('button')];
    const i = buttons.indexOf(document.activeElement);
    if (ev.key === 'Escape') {
      ev.preventDefault();
      ev.stopPropagation();
      this.close(true);
    } else if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      const step = ev.key === 'ArrowDown' ? 1 : -1;
      buttons[(i + step + buttons.length) % buttons.length].focus();
    } else if (ev.key === 'Home' || ev.key === 'End') {
      ev.preventDefault();
      buttons[ev.key === 'Home' ? 0 : buttons.length - 1].focus();
    }
  }

  /** Under the button, or above it when there is no room below; inside the viewport. */
  #place() {
    const r = this.button.getBoundingClientRect();
    const m = this.list.getBoundingClientRect();
    const vw = window.innerWidth;
    const vh = window.innerHeight;
    let top = r.bottom + 4;
    if (top + m.height > vh - 8) top = Math.max(8, r.top - m.height - 4);
    const left = Math.min(Math.max(8, r.right - m.width), vw - m.width - 8);
    this.list.style.top = `${Math.round(top)}px`;
    this.list.style.left = `${Math.round(Math.max(8, left))}px`;
  }
}
