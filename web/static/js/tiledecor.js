// tiledecor.js: what the room's features add to the remote tiles.
//
// One job: decorate each remote person's tile with a raised-hand mark (for
// everyone) and, for moderators, a "More actions" menu (actionmenu.js) with
// what they can do to that person: spotlight, mute the microphone, allow or
// take back the microphone and camera in a classroom, lower a hand, remove.
// The actions themselves come from the caller, computed when the menu opens.

import { ActionMenu } from './actionmenu.js';
import { roomIcon } from './roomicons.js';
import { t } from './i18n.js';

export class TileDecor {
  /**
   * @param {import('./call.js').CallScreen} call
   * @param {{moderator(): boolean, raised(id: string): boolean, itemsFor(id: string): object[]}} room
   */
  constructor(call, room) {
    this.call = call;
    this.room = room;
    call.remoteTileHooks.add((tile) => this.#decorate(tile));
  }

  /** Brings every remote tile's menu and hand mark in step (moderation or hands changed). */
  sync() {
    for (const tile of this.call.grid.remote()) if (!tile.screen) this.#decorate(tile);
  }

  #decorate(tile) {
    const id = tile.participantId;
    const el = tile.el;
    // The raised hand, top left, with words for screen readers.
    let hand = el.querySelector('.tile__hand');
    const raised = this.room.raised(id);
    if (raised && !hand) {
      hand = document.createElement('span');
      hand.className = 'tile__hand';
      hand.innerHTML = roomIcon('hand');
      const words = document.createElement('span');
      words.className = 'visually-hidden';
      words.textContent = t('tile.handRaised');
      hand.append(words);
      el.append(hand);
    } else if (!raised && hand) {
      hand.remove();
    }
    el.classList.toggle('tile--hand', raised);

    // The moderators' menu.
    let more = el.querySelector('.tile__more');
    if (this.room.moderator() && !more) {
      more = document.createElement('button');
      more.id = `tile-menu-${id}`;
      more.className = 'btn btn--icon tile__more';
      // eslint-disable-next-line no-new
      new ActionMenu(more, () => this.room.itemsFor(id), t('tile.more', { name: tile.name }));
      el.append(more);
    } else if (!this.room.moderator() && more) {
      more.remove();
    }
  }
}
