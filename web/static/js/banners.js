// banners.js: messages at the top of the page.
//
// One job: show server errors and connection problems as banners that screen
// readers announce and users can dismiss. Banners have a key, so a repeated
// problem (the same error code twice) replaces its banner instead of piling up.

import { icon } from './icons.js';
import { t } from './i18n.js';

export class Banners {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
    this.byKey = new Map();
  }

  /**
   * Shows (or replaces) the banner with this key.
   * @param {string} key
   * @param {{text: string, title?: string, tone?: 'error'|'warning'|'info',
   *          actions?: {label: string, onClick: () => void}[], dismissible?: boolean}} opts
   */
  show(key, { text, title, tone = 'error', actions = [], dismissible = true }) {
    this.dismiss(key);
    const el = document.createElement('div');
    el.className = `banner banner--${tone}`;
    // Errors interrupt (alert); information waits its turn (status).
    el.setAttribute('role', tone === 'info' ? 'status' : 'alert');
    el.dataset.key = key;

    const body = document.createElement('div');
    body.className = 'banner__body';
    if (title) {
      const strong = document.createElement('strong');
      strong.className = 'banner__title';
      strong.textContent = title;
      body.append(strong, ' ');
    }
    const msg = document.createElement('span');
    msg.textContent = text;
    body.append(msg);
    el.append(body);

    const buttons = document.createElement('div');
    buttons.className = 'banner__actions';
    for (const a of actions) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn btn--small';
      b.textContent = a.label;
      b.addEventListener('click', () => {
        this.dismiss(key);
        a.onClick();
      });
      buttons.append(b);
    }
    if (dismissible) {
      const x = document.createElement('button');
      x.type = 'button';
      x.className = 'btn btn--icon banner__close';
      x.setAttribute('aria-label', t('banner.dismiss.aria'));
      x.title = t('banner.dismiss');
      x.innerHTML = icon('close');
      x.addEventListener('click', () => this.dismiss(key));
      buttons.append(x);
    }
    el.append(buttons);
    this.container.append(el);
    this.byKey.set(key, el);
    return el;
  }

  dismiss(key) {
    const el = this.byKey.get(key);
    if (!el) return;
    el.remove();
    this.byKey.delete(key);
  }

  clear() {
    for (const key of [...this.byKey.keys()]) this.dismiss(key);
  }

  /** Text of the banners on screen, for tests. */
  texts() {
    return [...this.byKey.values()].map((el) => el.textContent.trim());
  }
}
