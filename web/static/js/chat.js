// chat.js: the chat panel.
//
// One job: show the room's `chat` messages (sender, time, text) in a side
// panel opened from the header, send ours (the Send button or Enter), count
// the messages that arrived while the panel was closed on the header button's
// badge, and say why the input is off when we may not chat (the room's chat is
// off and we do not moderate, no chat grant, observers, not yet in the call).
// The list is a polite live region (role=log), so screen readers read new
// messages without losing their place. Messages are kept for the call across
// reconnects and cleared when a new call starts.

import { renderButton } from './icons.js';
import { renderRoomButton } from './roomicons.js';
import { t, tn, formatTime } from './i18n.js';

const MAX_LEN = 1000; // PROTOCOL.md: 1-1000 characters after trimming
const KEEP = 500; // messages kept on screen; older ones scroll away for good

export class ChatPanel {
  /**
   * @param {{toggle: HTMLButtonElement, badge: HTMLElement, panel: HTMLElement, close: HTMLButtonElement,
   *          log: HTMLElement, form: HTMLFormElement, input: HTMLInputElement, send: HTMLButtonElement,
   *          note: HTMLElement}} els
   * @param {{send(text: string): Promise<boolean>, onOpen(): void}} hooks
   */
  constructor(els, hooks) {
    Object.assign(this, els);
    this.hooks = hooks;
    this.open = false;
    this.unread = 0;
    this.messages = []; // [{from, name, text, at, mine}]
    this.permission = { allowed: false, reason: t('chat.note.notInCall') };
    this.sending = false;

    renderButton(this.close, { iconName: 'close', text: t('common.close'), ariaLabel: t('chat.close.aria') });
    this.input.maxLength = MAX_LEN;
    this.toggle.addEventListener('click', () => this.setOpen(!this.open));
    this.close.addEventListener('click', () => this.setOpen(false, true));
    this.panel.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape') this.setOpen(false, true);
    });
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.#submit();
    });
    this.input.addEventListener('input', () => this.#renderForm());
    this.#renderToggle();
    this.#renderForm();
  }

  /** Opens or closes the panel; focus goes to the input on open, back to the toggle on close (restoreFocus). */
  setOpen(open, restoreFocus = false) {
    if (this.open === !!open) return;
    this.open = !!open;
    this.panel.hidden = !open;
    if (open) {
      this.hooks.onOpen();
      this.unread = 0;
      this.log.scrollTop = this.log.scrollHeight;
      (this.input.disabled ? this.close : this.input).focus();
    } else if (restoreFocus) {
      this.toggle.focus();
    }
    this.#renderToggle();
  }

  /** A `chat` message; mine: we sent it. */
  add({ from, name, text, at }, mine) {
    const when = new Date(at);
    const msg = { from, name: name || t('common.someone'), text: String(text ?? ''), at: Number.isNaN(when.getTime()) ? new Date() : when, mine: !!mine };
    this.messages.push(msg);
    if (this.messages.length > KEEP) {
      this.messages.shift();
      this.log.firstElementChild?.remove();
    }
    const nearBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
    this.log.append(this.#item(msg));
    if (nearBottom || mine) this.log.scrollTop = this.log.scrollHeight;
    if (!this.open && !mine) {
      this.unread++;
      this.#renderToggle();
    }
  }

  /** Forgets every message (a new call). */
  clear() {
    this.messages = [];
    this.unread = 0;
    this.log.replaceChildren();
    this.#renderToggle();
  }

  /** Whether we may send, and if not, why (shown under the input and read with it). */
  setPermission(allowed, reason) {
    this.permission = { allowed: !!allowed, reason: reason || '' };
    this.#renderForm();
  }

  /** For tests: {open, unread, allowed, note, messages: [{from, name, text, at, mine}]}. */
  snapshot() {
    return {
      open: this.open,
      unread: this.unread,
      allowed: this.permission.allowed,
      inputDisabled: this.input.disabled,
      note: this.note.textContent,
      messages: this.messages.map((m) => ({ from: m.from, name: m.name, text: m.text, at: m.at.toISOString(), mine: m.mine })),
    };
  }

  async #submit() {
    const text = this.input.value.trim();
    if (!text || !this.permission.allowed || this.sending) return;
    this.sending = true;
    this.#renderForm();
    const ok = await this.hooks.send(text);
    this.sending = false;
    // Sent: the server echoes it to us as a `chat`, which shows it. Refused: keep the text to retry.
    if (ok && this.input.value.trim() === text) this.input.value = '';
    this.#renderForm();
    if (this.open && !this.input.disabled) this.input.focus();
  }

  #item(m) {
    const li = document.createElement('li');
    li.className = `chat__msg${m.mine ? ' chat__msg--mine' : ''}`;
    const head = document.createElement('div');
    head.className = 'chat__head';
    const who = document.createElement('span');
    who.className = 'chat__name';
    who.textContent = m.mine ? t('common.you', { name: m.name }) : m.name;
    const time = document.createElement('time');
    time.className = 'chat__time';
    time.dateTime = m.at.toISOString();
    time.textContent = formatTime(m.at);
    head.append(who, time);
    const body = document.createElement('p');
    body.className = 'chat__text';
    body.textContent = m.text; // user text: never innerHTML
    li.append(head, body);
    return li;
  }

  #renderForm() {
    const { allowed, reason } = this.permission;
    this.input.disabled = !allowed;
    this.send.disabled = !allowed || this.sending || this.input.value.trim() === '';
    this.note.textContent = reason;
    this.note.hidden = !reason;
    this.input.placeholder = allowed ? t('chat.placeholder') : '';
  }

  #renderToggle() {
    const n = this.unread;
    renderRoomButton(this.toggle, {
      iconName: 'chat',
      text: t('chat.title'),
      ariaLabel: n > 0 ? tn('chat.unread', n) : t('chat.title'),
    });
    this.toggle.setAttribute('aria-expanded', String(this.open));
    this.toggle.setAttribute('aria-controls', this.panel.id);
    this.badge.textContent = n > 99 ? '99+' : String(n);
    this.badge.hidden = n === 0;
    // The badge lives inside the button, re-rendered above: put it back.
    this.toggle.append(this.badge);
  }
}
