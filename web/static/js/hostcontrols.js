// hostcontrols.js: the call controls that come with a role.
//
// One job: the two buttons the room's roles add to the controls bar: "Raise
// hand" / "Lower hand" for those who ask for the floor (classroom and
// conference attendees), and the moderators' "End consultation" / "End
// class" (behind a confirmation) where ending for everyone is the usual way a
// session ends. They render from the room's state and call back; the server
// has the last word (a refused request shows a banner, roomactions.js).

import { renderRoomButton } from './roomicons.js';
import { addNarrowText } from './icons.js';
import { t } from './i18n.js';

export class RoleControls {
  /**
   * @param {{hand: HTMLButtonElement, end: HTMLButtonElement}} els
   * @param {{raise(raised: boolean): void, end(): void}} hooks
   */
  constructor({ hand, end }, hooks) {
    this.handBtn = hand;
    this.endBtn = end;
    this.raised = false;
    hand.addEventListener('click', () => hooks.raise(!this.raised));
    end.addEventListener('click', () => hooks.end());
    this.render({ showHand: false, raised: false, showEnd: false, endLabel: '' });
  }

  /**
   * showHand: we may raise a hand here; raised: ours is up (its place in the
   * queue when position > 0); showEnd/endLabel: the moderator's end button.
   */
  render({ showHand, raised, position = 0, showEnd, endLabel }) {
    this.raised = !!raised;
    this.handBtn.hidden = !showHand;
    renderRoomButton(this.handBtn, {
      iconName: 'hand',
      text: raised ? t('hand.lower') : t('hand.raise'),
      ariaLabel: raised
        ? (position > 0 ? t('hand.lower.ariaQueue', { n: position }) : t('hand.lower.aria'))
        : t('hand.raise.aria'),
      pressed: !!raised,
    });
    this.handBtn.classList.toggle('is-active', !!raised);
    this.endBtn.hidden = !showEnd;
    if (showEnd) {
      renderRoomButton(this.endBtn, { iconName: 'end', text: endLabel, ariaLabel: t('room.end.aria', { label: endLabel }) });
      // A phone's control row has room for one short word.
      addNarrowText(this.endBtn, t('room.end.short'));
    }
  }
}
