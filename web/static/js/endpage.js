// endpage.js: the page shown when a call ends for us — the host ended it,
// we were removed or turned away from the lobby, the room is closed to us.
//
// One job: release the camera and microphone at once (their tracks are
// stopped, so the browser's recording light goes out), say what happened in
// plain words, and offer "Rejoin" only where coming back can work. A patient
// the clinician turned away or whose consultation ended is never put back on
// a join screen that would only lead to the lobby again.

import { t, hasText } from './i18n.js';
import { errorTitle } from './errors.js';

/** Codes after which joining again cannot help (the server would refuse or nobody is there). */
const NO_REJOIN = new Set(['removed', 'banned', 'lobby_declined', 'room_closed']);

export class EndPage {
  /** @param {{onRejoin(): void}} actions */
  constructor(actions) {
    this.section = document.createElement('main');
    this.section.className = 'end-screen join-screen';
    this.section.id = 'end-screen';
    this.section.hidden = true;
    this.section.innerHTML = `
      <section class="join-card end-card" aria-labelledby="end-title">
        <h1 class="end-card__title" id="end-title" tabindex="-1"></h1>
        <p class="end-card__text" id="end-text"></p>
        <p class="end-card__note" id="end-note"></p>
        <button type="button" class="btn btn--primary" id="end-rejoin" hidden></button>
      </section>`;
    document.getElementById('join-screen').after(this.section);
    this.rejoin = this.section.querySelector('#end-rejoin');
    this.rejoin.textContent = t('end.rejoin');
    this.rejoin.addEventListener('click', () => {
      this.hide();
      actions.onRejoin();
    });
    this.code = '';
    this.released = []; // the tracks stopped when the call ended (for the tests' hooks)
  }

  /**
   * Stops every track of streams, then shows what happened: a title for code, and under it text (the
   * room's words for code, from roomui.js) or else the page's own words for code, said once: a code
   * with a title of its own does not get its error title repeated under it. detail (the server's
   * message, in English) follows only for codes without words of their own.
   */
  show(code, text, streams, detail = '') {
    this.released = [];
    for (const stream of streams) {
      for (const track of stream ? stream.getTracks() : []) {
        track.stop();
        this.released.push(track);
      }
    }
    this.code = code || '';
    const $ = (id) => this.section.querySelector(`#${id}`);
    const titled = hasText(`end.title.${code}`);
    $('end-title').textContent = t(titled ? `end.title.${code}` : 'end.title.other');
    let body = text || (hasText(`end.text.${code}`) ? t(`end.text.${code}`) : '');
    if (!body && !titled && code) body = [errorTitle(code), detail].filter(Boolean).join(' ');
    $('end-text').textContent = body;
    $('end-note').textContent = t('end.released');
    this.rejoin.hidden = NO_REJOIN.has(code);
    this.section.hidden = false;
    window.scrollTo(0, 0);
    $('end-title').focus();
  }

  hide() {
    this.section.hidden = true;
  }

  /** For the tests: what the page shows and the state of the tracks it released. */
  snapshot() {
    return {
      shown: !this.section.hidden, code: this.code,
      title: this.section.querySelector('#end-title').textContent,
      rejoin: !this.rejoin.hidden,
      tracks: this.released.map((tr) => tr.readyState),
    };
  }
}
