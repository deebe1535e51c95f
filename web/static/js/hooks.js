// hooks.js: the read-only `window.huddle` object for automated tests.
//
// One job: let browser tests (web/browser_test.go) observe the client without
// scraping the DOM or logging: the session state, our participant id, the
// remote tiles' picture sizes and per-track receive statistics. Nothing here
// changes the call.

/**
 * @param {{state(): string, participantId(): string|null,
 *          remoteTiles(): object[], stats(): Promise<object[]>, banners(): string[]}} src
 */
export function exposeTestHooks(src) {
  const hooks = {
    /** 'idle' | 'joining' | 'joined' | 'left' */
    get state() {
      return src.state();
    },
    get participantId() {
      return src.participantId();
    },
    /** [{participantId, name, videoWidth, videoHeight}] */
    remoteTiles: () => src.remoteTiles(),
    /** Promise of [{trackId, kind, framesDecoded, frameWidth, frameHeight, bytesReceived}] */
    stats: () => src.stats(),
    /** Texts of the banners on screen (errors, connection lost). */
    banners: () => src.banners(),
  };
  Object.defineProperty(window, 'huddle', { value: Object.freeze(hooks), configurable: false });
}
