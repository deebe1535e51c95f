// recording.js: recording the call, with everyone told and the patients asked first.
//
// One job: the client side of recording (signaling/protocol/recording.go, PROTOCOL.md "Recording").
// The room's state carries a `recording` object that every member receives, so every client shows
// the same thing:
//   - a Record / Cancel recording / Stop recording button in the call header, for participants whose
//     grants have `record` (hosts by default); it sends start_recording / stop_recording;
//   - an indicator in the call header for EVERYONE (id recording-indicator, data-state = the state): a
//     red dot and "Recording" while files are written, "Waiting for consent to record" while the
//     patients are asked; it sits on the header's first row, so a phone shows it without scrolling;
//     a polite live region says when it starts and stops;
//   - a modal dialog (id recording-consent) for the participant whose id is in waitingFor: who asks,
//     that the call will be recorded, and "Allow recording" / "Don't record" (recording_consent). It
//     closes once answered or when our id leaves waitingFor. Escape means "Don't record": without a
//     yes, nothing of ours is recorded;
//   - a banner when a recording ends (why: declined, disk full, failed, stopped), once per ending.
// Refusals of our requests show as plain-language banners. The server has the last word; this
// module never decides whether the call is recorded.

import { renderRoomButton } from './roomicons.js';
import { addNarrowText } from './icons.js';
import { wordsOf } from './roles.js';
import { t, formatTime } from './i18n.js';

/** How long the brief "Recording stopped" banner stays. */
const NOTICE_MS = 8000;
/** How long the button waits for the room's state to follow an acknowledged start or stop. */
const SETTLE_MS = 3000;
/** Refusal codes with words of their own (recording.error.<code>). */
const ERROR_CODES = new Set(['insufficient_grant', 'recording_disabled', 'recording_active', 'recording_inactive', 'disk_full']);
const ACTIVE = new Set(['consent', 'recording']);
const NOTICE_KEY = 'recording:ended';
const ERROR_KEY = 'recording:error';

/** The recording part of a RoomState, every field present ({state: ''} from a server without recording). */
export function recordingOf(roomState) {
  const r = roomState && roomState.recording && typeof roomState.recording === 'object' ? roomState.recording : {};
  const str = (x) => (typeof x === 'string' ? x : '');
  const ids = (x) => (Array.isArray(x) ? x.filter((id) => typeof id === 'string') : []);
  return {
    state: str(r.state),
    startedAt: str(r.startedAt),
    startedBy: str(r.startedBy),
    waitingFor: ids(r.waitingFor),
    consented: ids(r.consented),
    ended: str(r.ended),
    declinedBy: str(r.declinedBy),
  };
}

export class RecordingUI {
  /**
   * @param {{extensions: import('./extensions.js').Extensions, banners: import('./banners.js').Banners,
   *          connection(): string, header: HTMLElement}} app  header: the call screen's header
   */
  constructor({ extensions, banners, connection, header }) {
    this.banners = banners;
    this.connection = connection;
    this.session = null;
    this.last = null; // the recording as last rendered for the current session (null: none yet)
    this.shown = ''; // the state the indicator shows, announced when it changes
    this.busy = ''; // '' | 'sending' (a start or stop waits for its ack) | 'settling' (acked, state not followed yet)
    this.busyFrom = ''; // the state when the start or stop was sent
    this.answering = false; // our consent answer waits for its ack
    this.answered = false; // we answered: the dialog stays closed until our id leaves waitingFor
    this.timer = 0;
    this.settleTimer = 0;
    this.noticeTimer = 0;
    this.closingOurselves = false;

    this.button = this.#buildButton(header.querySelector('.call-header__tools'));
    this.indicator = this.#buildIndicator(header);
    this.live = this.#buildLiveRegion();
    this.dialog = this.#buildDialog();
    extensions.session((s) => this.#attach(s));
    this.#render();
  }

  #buildButton(tools) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn btn--header rec-button';
    b.id = 'toggle-recording';
    b.hidden = true;
    b.addEventListener('click', () => this.#press());
    // With the host's other tool (Invite), before the view tools.
    const invite = tools.querySelector('#toggle-invite');
    if (invite) invite.after(b);
    else tools.prepend(b);
    return b;
  }

  #buildIndicator(header) {
    const el = document.createElement('span');
    el.className = 'rec-indicator';
    el.id = 'recording-indicator';
    el.hidden = true;
    el.dataset.state = '';
    // A laptop shows the full words, a phone's first header row the short ones (rooms.css).
    el.innerHTML = '<span class="rec-indicator__dot" aria-hidden="true"></span><span class="rec-indicator__text rec-indicator__text--wide"></span><span class="rec-indicator__text rec-indicator__text--narrow"></span>';
    // On the header's first row, after the room's name: never wrapped away with the tools.
    const room = header.querySelector('.call-header__room');
    if (room) room.after(el);
    else header.prepend(el);
    return el;
  }

  #buildLiveRegion() {
    const p = document.createElement('p');
    p.className = 'visually-hidden';
    p.id = 'recording-announce';
    p.setAttribute('role', 'status');
    p.setAttribute('aria-live', 'polite');
    document.body.append(p);
    return p;
  }

  #buildDialog() {
    const d = document.createElement('dialog');
    d.className = 'confirm rec-consent';
    d.id = 'recording-consent';
    d.setAttribute('aria-labelledby', 'recording-consent-title');
    d.setAttribute('aria-describedby', 'recording-consent-text');
    d.innerHTML = `
      <div class="confirm__body">
        <h2 class="confirm__title" id="recording-consent-title"></h2>
        <p class="confirm__text" id="recording-consent-text"></p>
        <div class="confirm__actions">
          <button type="button" class="btn" data-consent="decline"></button>
          <button type="button" class="btn btn--primary" data-consent="accept"></button>
        </div>
      </div>`;
    this.heading = d.querySelector('#recording-consent-title');
    this.text = d.querySelector('#recording-consent-text');
    this.declineBtn = d.querySelector('[data-consent="decline"]');
    this.acceptBtn = d.querySelector('[data-consent="accept"]');
    this.declineBtn.textContent = t('recording.consent.decline');
    this.acceptBtn.textContent = t('recording.consent.accept');
    this.declineBtn.addEventListener('click', () => this.#answer(false));
    this.acceptBtn.addEventListener('click', () => this.#answer(true));
    // Escape: no consent. The dialog stays until the answer is acknowledged.
    d.addEventListener('cancel', (e) => {
      e.preventDefault();
      this.#answer(false);
    });
    // The browser may close it anyway (a second Escape): that too is no consent. The close event comes
    // later than close(), so our own closing is remembered until it arrives.
    d.addEventListener('close', () => {
      if (this.closingOurselves) {
        this.closingOurselves = false;
        return;
      }
      if (!this.answered) this.#answer(false);
    });
    document.body.append(d);
    return d;
  }

  #attach(s) {
    this.session = s;
    this.last = null;
    this.busy = '';
    this.answering = false;
    this.answered = false;
    for (const type of ['joined', 'room-state', 'grants', 'state']) {
      s.addEventListener(type, () => {
        if (s === this.session) this.#schedule();
      });
    }
    this.#schedule();
  }

  /**
   * Renders after the current burst of events. Later, too, so that a dropped connection is already
   * 'reconnecting' when its session's 'left' is rendered (app.js says so just after the leave).
   */
  #schedule() {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = 0;
      this.#render();
    }, 0);
  }

  #mode() {
    const s = this.session;
    const m = s?.roomState?.mode ?? s?.policy?.mode;
    return typeof m === 'string' ? m : '';
  }

  #render() {
    const s = this.session;
    if (!s || s.state !== 'joined') {
      this.button.hidden = true;
      this.#closeDialog();
      // While reconnecting the recording most likely goes on: the indicator stays until we know.
      if (this.connection() !== 'reconnecting') this.#showState('', null, false);
      return;
    }
    const rec = recordingOf(s.roomState);
    const mayRecord = !!(s.grants && s.grants.record);
    const prev = this.last;
    this.last = rec;
    // The first state of a session (a join, a reconnect) is where we start from, not news.
    if (prev) this.#notify(prev, rec, mayRecord);
    if (this.busy === 'settling' && rec.state !== this.busyFrom) this.#settled();
    this.#showState(rec.state, rec, true);
    this.#renderButton(rec.state, mayRecord);
    this.#renderConsent(rec, s);
  }

  /** The indicator for state; announced (announce) when it changed. */
  #showState(state, rec, announce) {
    const el = this.indicator;
    const on = ACTIVE.has(state);
    el.hidden = !on;
    el.dataset.state = state;
    if (on) {
      const [wide, narrow] = el.querySelectorAll('.rec-indicator__text');
      wide.textContent = t(`recording.indicator.${state}`);
      narrow.textContent = t(`recording.indicator.${state}.short`);
      el.title = state === 'recording' ? this.#since(rec) : wide.textContent;
    }
    if (state === this.shown) return;
    const before = this.shown;
    this.shown = state;
    if (!announce) return;
    const room = wordsOf(this.#mode()).room;
    if (state === 'recording') this.#say(t('recording.announce.started', { room }));
    else if (state === 'consent') this.#say(t('recording.announce.consent', { room }));
    else if (before === 'recording') this.#say(t('recording.announce.stopped', { room }));
    else this.#say(t('recording.announce.notStarted', { room }));
  }

  /** The indicator's tooltip while recording: since when, at whose request. */
  #since(rec) {
    const name = rec?.startedBy || t('common.someone');
    const at = rec?.startedAt ? new Date(rec.startedAt) : null;
    if (at && !Number.isNaN(at.getTime())) return t('recording.indicator.since', { name, time: formatTime(at) });
    return t('recording.indicator.by', { name });
  }

  /** Says text through the polite live region (the same words again are read again). */
  #say(text) {
    if (this.live.textContent !== text) {
      this.live.textContent = text;
      return;
    }
    this.live.textContent = '';
    setTimeout(() => {
      this.live.textContent = text;
    }, 50);
  }

  #renderButton(state, mayRecord) {
    const b = this.button;
    b.hidden = !mayRecord;
    if (!mayRecord) return;
    const action = state === 'recording' ? 'stop' : state === 'consent' ? 'cancel' : 'start';
    const room = wordsOf(this.#mode()).room;
    if (b.dataset.action !== action || b.dataset.room !== room) {
      renderRoomButton(b, {
        iconName: action === 'start' ? 'record' : 'recordStop',
        text: t(`recording.button.${action}`),
        ariaLabel: t(`recording.button.${action}.aria`, { room }),
      });
      // A phone's header gives each tool one short word.
      addNarrowText(b, t(`recording.button.${action}.short`));
      b.dataset.action = action;
      b.dataset.room = room;
    }
    b.classList.toggle('rec-button--on', state === 'recording');
    // aria-disabled, not disabled: the button keeps the keyboard focus while the server answers.
    if (this.busy) b.setAttribute('aria-disabled', 'true');
    else b.removeAttribute('aria-disabled');
    b.setAttribute('aria-busy', String(!!this.busy));
  }

  /** Record, Cancel or Stop: start_recording with nothing running, else stop_recording. */
  async #press() {
    const s = this.session;
    if (this.busy || !s || s.state !== 'joined' || !s.signaling) return;
    const from = recordingOf(s.roomState).state;
    const type = ACTIVE.has(from) ? 'stop_recording' : 'start_recording';
    this.busy = 'sending';
    this.busyFrom = from;
    this.banners.dismiss(ERROR_KEY);
    this.#render();
    try {
      await s.signaling.request(type, {}, 'ack');
      if (s !== this.session) return;
      // The room's state usually follows the ack; until it does, the button waits.
      this.busy = 'settling';
      clearTimeout(this.settleTimer);
      this.settleTimer = setTimeout(() => this.#settled(), SETTLE_MS);
    } catch (err) {
      if (s !== this.session) return;
      this.busy = '';
      if (err.code !== 'closed') this.#showError(err.code);
    }
    this.#render();
  }

  #settled() {
    clearTimeout(this.settleTimer);
    if (!this.busy) return;
    this.busy = '';
    this.#schedule();
  }

  #showError(code) {
    const key = ERROR_CODES.has(code) ? code : 'other';
    this.banners.show(ERROR_KEY, { text: t(`recording.error.${key}`), tone: 'warning' });
  }

  /** A banner for a recording that just ended (or did not start), once per ending. */
  #notify(prev, rec, mayRecord) {
    const ended = ACTIVE.has(prev.state) && !ACTIVE.has(rec.state);
    const newReason = rec.ended !== '' && (rec.ended !== prev.ended || rec.declinedBy !== prev.declinedBy);
    if (!ended && !newReason) return;
    const name = rec.declinedBy || t('common.someone');
    switch (rec.ended) {
      case 'room_ended':
        return; // the end of the call says it all
      case 'declined':
        // Only the person who asked needs to know who; the one who declined knows already.
        if (!mayRecord) return;
        if (ACTIVE.has(rec.state)) this.#notice(t('recording.notice.declinedJoiner', { name }), 'info', false);
        else this.#notice(t('recording.notice.declined', { name }), 'info', false);
        return;
      case 'disk_full':
        if (mayRecord) this.#notice(t('recording.notice.diskFull'), 'warning', false);
        else if (ended) this.#notice(t('recording.notice.stopped'), 'info', true);
        return;
      case 'failed':
        this.#notice(t('recording.notice.failed'), 'warning', false);
        return;
      default: // stopped (or a server that gave no reason)
        if (!ended && rec.state !== '') return;
        if (prev.state === 'consent') this.#notice(t('recording.notice.cancelled'), 'info', true);
        else this.#notice(t('recording.notice.stopped'), 'info', true);
    }
  }

  #notice(text, tone, brief) {
    clearTimeout(this.noticeTimer);
    const el = this.banners.show(NOTICE_KEY, { text, tone });
    if (!brief) return;
    this.noticeTimer = setTimeout(() => {
      if (this.banners.byKey.get(NOTICE_KEY) === el) this.banners.dismiss(NOTICE_KEY);
    }, NOTICE_MS);
  }

  /** The consent dialog: open while our id is in waitingFor and we have not answered. */
  #renderConsent(rec, s) {
    const asked = ACTIVE.has(rec.state) && rec.waitingFor.includes(s.participantId);
    if (!asked) {
      this.answered = false;
      this.#closeDialog();
      return;
    }
    if (this.answered) {
      this.#closeDialog();
      return;
    }
    const name = rec.startedBy || t('common.someone');
    const room = wordsOf(this.#mode()).room;
    // Someone who joins a running recording is asked too: it is recording already, just not them.
    const running = rec.state === 'recording';
    this.heading.textContent = running ? t('recording.consent.titleRunning', { name, room }) : t('recording.consent.title', { name, room });
    this.text.textContent = running ? t('recording.consent.textRunning', { room }) : t('recording.consent.text', { room });
    this.acceptBtn.disabled = this.answering;
    this.declineBtn.disabled = this.answering;
    if (!this.dialog.open) {
      this.dialog.showModal();
      // Focus in the dialog, on the choice that records nothing.
      this.declineBtn.focus();
    }
  }

  #closeDialog() {
    if (!this.dialog.open) return;
    this.closingOurselves = true;
    this.dialog.close();
  }

  async #answer(accept) {
    const s = this.session;
    if (this.answering || this.answered || !s || s.state !== 'joined' || !s.signaling) return;
    this.answering = true;
    this.banners.dismiss(ERROR_KEY);
    this.#render();
    try {
      await s.signaling.request('recording_consent', { accept: !!accept }, 'ack');
      if (s === this.session) this.answered = true;
    } catch (err) {
      if (s !== this.session) return;
      // Nothing asked any more (the host cancelled meanwhile): nothing to answer.
      if (err.code === 'recording_inactive') this.answered = true;
      else if (err.code !== 'closed') this.#showError(err.code);
    } finally {
      if (s === this.session) {
        this.answering = false;
        this.#render();
      }
    }
  }
}

/**
 * For tests (hooks.js): the recording as the page shows it, read from the DOM. state: the
 * indicator's data-state; indicatorVisible: shown and inside the viewport (no scrolling needed);
 * indicatorText, buttonText: the full words (a phone shows shorter ones); consentOpen: the consent
 * dialog is open; buttonDisabled: the button waits for the server; buttonVisible: it is offered.
 */
export function recordingSnapshot() {
  const $ = (id) => document.getElementById(id);
  const indicator = $('recording-indicator');
  const button = $('toggle-recording');
  const dialog = $('recording-consent');
  let indicatorVisible = false;
  if (indicator && !indicator.hidden) {
    const box = indicator.getBoundingClientRect();
    indicatorVisible = box.width > 0 && box.height > 0 && box.top >= 0 && box.left >= 0
      && box.right <= window.innerWidth + 1 && box.bottom <= window.innerHeight + 1;
  }
  const fullText = (el) => (el?.querySelector('.rec-indicator__text--wide, .btn__text') ?? null)?.textContent ?? '';
  return {
    state: indicator?.dataset.state ?? '',
    indicatorVisible,
    indicatorText: indicator && !indicator.hidden ? fullText(indicator) : '',
    consentOpen: !!dialog?.open,
    buttonText: button && !button.hidden ? fullText(button) : '',
    buttonDisabled: !!button && (button.disabled || button.getAttribute('aria-disabled') === 'true'),
    buttonVisible: !!button && !button.hidden,
  };
}
