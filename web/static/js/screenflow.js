// screenflow.js: our screen share from the button press to its end.
//
// One job: hold the screen share we publish ({stream, track}, or null): ask for a screen
// (screenshare.js), publish it in the current session, follow the browser's own "Stop sharing", and
// release the capture however the share ends (Stop share, a failed publish, the call ending). Called
// from app.js only, on the page's one thread.

import { getScreen } from './screenshare.js';
import { stopStream } from './media.js';
import { t } from './i18n.js';

export class ScreenFlow {
  /**
   * @param {{session(): import('./session.js').Session|null,
   *          call: import('./call.js').CallScreen, banners: import('./banners.js').Banners}} deps
   */
  constructor({ session, call, banners }) {
    this.session = session;
    this.call = call;
    this.banners = banners;
    this.current = null; // {stream, track} while we share a screen
  }

  /** Asks for a screen and publishes it; the user may cancel the browser's picker. */
  async start() {
    const s = this.session();
    if (!s || s.state !== 'joined' || this.current) return;
    this.banners.dismiss('screen');
    const { stream, track, message } = await getScreen();
    if (!track) {
      if (message) this.banners.show('screen', { title: t('screen.cannotShare'), text: message, tone: 'warning' });
      return;
    }
    if (this.session() !== s || s.state !== 'joined' || this.current) {
      stopStream(stream);
      return;
    }
    this.current = { stream, track };
    // The browser's own "Stop sharing" bar ends the track without us.
    track.addEventListener('ended', () => {
      if (this.current && this.current.track === track) this.stop();
    });
    this.call.setScreenSharing(true);
    this.call.setLocalScreen(track);
    try {
      await s.publishScreen(track, stream);
    } catch (err) {
      if (this.current && this.current.track === track) this.end();
      if (this.session() === s && s.state === 'joined') {
        this.banners.show('screen', { title: t('screen.cannotShare'), text: err.message || String(err), tone: 'warning' });
      }
    }
  }

  /** Stops our screen share: unpublishes it and releases the capture. */
  stop() {
    if (!this.current) return;
    this.session()?.unpublishScreen();
    this.end();
  }

  /** Forgets the screen share (the session, if any, is already done with it) and releases the capture. */
  end() {
    if (!this.current) return;
    stopStream(this.current.stream);
    this.current = null;
    this.call.setLocalScreen(null);
    this.call.setScreenSharing(false);
  }
}
