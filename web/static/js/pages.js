// pages.js: pages of tiles when a room has more people than fit.
//
// One job: split the ordered tiles into pages (paginate) and run the
// "Previous / Page 2 of 3 / Next" control under the stage. The grid decides
// how many tiles a page holds (nine in the grid, one row of thumbnails in
// speaker view); tiles off the current page are hidden, and adaptive stream
// (adaptive.js) sees them leave the viewport and asks the server to pause
// their video (`track_settings` paused), so a large room costs only the
// bandwidth of the page on screen.

import { renderButton } from './icons.js';
import { t } from './i18n.js';

/**
 * The slice of items on page (0-based, clamped to the pages there are).
 * @template T
 * @param {T[]} items
 * @param {number} perPage  at least 1
 * @param {number} page
 * @returns {{visible: T[], page: number, pages: number}}
 */
export function paginate(items, perPage, page) {
  const size = Math.max(1, Math.floor(perPage) || 1);
  const pages = Math.max(1, Math.ceil(items.length / size));
  const p = Math.min(Math.max(0, page | 0), pages - 1);
  return { visible: items.slice(p * size, (p + 1) * size), page: p, pages };
}

export class Pager {
  /**
   * @param {HTMLElement} nav  the control's container (hidden when there is one page)
   * @param {(delta: number) => void} onTurn  -1: previous page, +1: next page
   */
  constructor(nav, onTurn) {
    this.nav = nav;
    this.prev = nav.querySelector('[data-page="prev"]');
    this.next = nav.querySelector('[data-page="next"]');
    this.label = nav.querySelector('[data-page="label"]');
    renderButton(this.prev, { iconName: 'prev', text: t('pager.prev'), ariaLabel: t('pager.prev.aria') });
    renderButton(this.next, { iconName: 'next', text: t('pager.next'), ariaLabel: t('pager.next.aria') });
    this.prev.addEventListener('click', () => onTurn(-1));
    this.next.addEventListener('click', () => onTurn(1));
    this.page = 0;
    this.pages = 1;
  }

  /** Shows page (0-based) of pages; hides itself when everyone fits on one. */
  render(page, pages) {
    if (page === this.page && pages === this.pages) return;
    this.page = page;
    this.pages = pages;
    this.nav.hidden = pages <= 1;
    this.label.textContent = t('pager.label', { page: page + 1, pages });
    // Keep focus where it was: a disabled button would drop it, so the
    // end buttons use aria-disabled and stay focusable.
    this.#usable(this.prev, page > 0);
    this.#usable(this.next, page < pages - 1);
  }

  #usable(btn, on) {
    if (on) btn.removeAttribute('aria-disabled');
    else btn.setAttribute('aria-disabled', 'true');
  }
}
