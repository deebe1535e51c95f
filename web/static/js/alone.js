// alone.js: what the call screen says while we are the only one in the room.
//
// One job: a newcomer who opens a room and sees only their own picture should not wonder whether it
// works. Alone in a joined call, a card under our tile says so; to someone who may invite (the
// moderate grant: the Invite button is shown) it offers the invitation link at once. It goes away as
// soon as anyone else is there, and never shows in the lobby or before joining.

import { t } from './i18n.js';

export class AloneCard {
  /**
   * @param {HTMLElement} stage  the call's stage; the card goes after its grid
   * @param {import('./invite.js').InvitePanel} invite  opened by the card's button
   * @param {() => void} onShown  called when the card appears or goes (the tiles make room for it)
   */
  constructor(stage, invite, onShown) {
    this.onShown = onShown;
    this.stage = stage;
    this.invite = invite;
    this.card = document.createElement('section');
    this.card.className = 'alone-card';
    this.card.id = 'alone-card';
    this.card.hidden = true;
    this.card.setAttribute('role', 'status');
    this.card.innerHTML = `
      <p class="alone-card__title" id="alone-title"></p>
      <p class="alone-card__text" id="alone-text"></p>
      <button type="button" class="btn btn--primary" id="alone-invite" hidden></button>`;
    stage.append(this.card);
    this.button = this.card.querySelector('#alone-invite');
    this.button.textContent = t('alone.invite');
    this.button.addEventListener('click', () => {
      this.invite.setOpen(true);
      document.getElementById('invite-role')?.focus();
    });
    this.headcount = 0;
    this.joined = false;
  }

  /**
   * A card that follows the call: the head count the call screen shows, and whether the current
   * session is in the call.
   * @param {{stage: HTMLElement, invite: import('./invite.js').InvitePanel,
   *          call: import('./call.js').CallScreen, extensions: import('./extensions.js').Extensions,
   *          current(): object|null}} deps  current: the page's session now
   */
  static follow({ stage, invite, call, extensions, current }) {
    const card = new AloneCard(stage, invite, () => call.grid.layout());
    call.onHeadcount = (n) => card.setHeadcount(n);
    extensions.session((s) => {
      const update = () => card.setJoined(current() === s && s.state === 'joined');
      for (const type of ['joined', 'state', 'grants']) s.addEventListener(type, update);
      update();
    });
    return card;
  }

  /** The number of people in the call (ourselves included) changed. */
  setHeadcount(n) {
    this.headcount = n;
    this.render();
  }

  /** Whether we are in the call (not joining, not in the lobby). */
  setJoined(joined) {
    this.joined = joined;
    this.render();
  }

  render() {
    const inLobby = this.stage.classList.contains('stage--lobby');
    const alone = this.joined && !inLobby && this.headcount === 1;
    const mayInvite = alone && !this.invite.toggle.hidden;
    const changed = this.card.hidden === alone;
    this.card.hidden = !alone;
    this.stage.classList.toggle('stage--alone', alone);
    this.button.hidden = !mayInvite;
    this.card.querySelector('#alone-title').textContent = alone ? t('alone.title') : '';
    this.card.querySelector('#alone-text').textContent = alone ? t(mayInvite ? 'alone.text.host' : 'alone.text.guest') : '';
    if (changed) this.onShown();
  }

  /** For the tests. */
  snapshot() {
    return { shown: !this.card.hidden, invite: !this.button.hidden, text: this.card.innerText };
  }
}
