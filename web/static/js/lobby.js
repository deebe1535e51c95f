// lobby.js: waiting to be let in, as the waiter sees it.
//
// One job: while the server holds our `join` in the room's lobby
// (signaling/PROTOCOL.md "The lobby": a `lobby` reply instead of `joined`),
// show a calm waiting card over the call screen: who will let us in, a
// spinner, and that our own camera preview (our tile, still on screen) and
// the Leave button work meanwhile. Nobody else is shown: a waiter gets no
// participants and no media. The card goes when `joined` arrives (admitted)
// or the session ends (declined, the call ended, or we left).

import { lobbyText } from './roles.js';

export class LobbyView {
  /**
   * @param {{card: HTMLElement, text: HTMLElement, stage: HTMLElement, screen: HTMLElement}} els
   */
  constructor({ card, text, stage, screen }) {
    this.card = card;
    this.text = text;
    this.stage = stage;
    this.screen = screen;
    this.waiting = false;
    this.message = '';
    this.since = 0; // Date.now() when we started waiting
  }

  /** We wait (mode: the room's mode as far as we know, for the words; serverMessage: the `lobby` text). */
  show(mode, serverMessage) {
    this.waiting = true;
    this.since = Date.now();
    this.message = lobbyText(mode, serverMessage);
    this.card.hidden = false;
    // Set after showing, so the status region is read out.
    this.text.textContent = this.message;
    this.stage.classList.add('stage--lobby');
    this.screen.classList.add('call-screen--lobby');
  }

  /** Admitted, declined or gone: the card goes. */
  hide() {
    if (!this.waiting && this.card.hidden) return;
    this.waiting = false;
    this.card.hidden = true;
    this.stage.classList.remove('stage--lobby');
    this.screen.classList.remove('call-screen--lobby');
  }

  /** For tests: {waiting, message, since}. */
  state() {
    return { waiting: this.waiting, message: this.waiting ? this.message : '', since: this.waiting ? this.since : 0 };
  }
}
