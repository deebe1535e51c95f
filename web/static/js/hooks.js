// hooks.js: the `window.huddle` object for automated tests.
//
// One job: let browser tests (web/browser_*_test.go) observe the client
// without scraping the DOM or logging: the session state, our participant
// id, the remote tiles, per-track receive and send statistics, who speaks,
// what the server lets us do (grants).
// One hook acts: setTrackSettings, which sends `track_settings` by hand (a
// test choosing a simulcast layer) and takes that track away from adaptive
// stream. Nothing else here changes the call.

/**
 * @param {{state(): string, participantId(): string|null,
 *          remoteTiles(): object[], stats(): Promise<object[]>, banners(): string[],
 *          setTrackSettings(trackId: string, settings: object): boolean,
 *          adaptiveSettings(trackId: string): object|null,
 *          remoteVideoStats(): Promise<object[]>, localVideoStats(): Promise<object[]>,
 *          declaredLayers(trackId: string): object[]|null, speakers(): object[],
 *          screenTrackId(): string|null, cameraTrackId(): string|null,
 *          grants(): object|null}} src
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
    /**
     * [{participantId, tileId, name, screen, trackId, videoWidth, videoHeight, pinned,
     *   featured, speaking, streamState, layer, notice, priority}]
     */
    remoteTiles: () => src.remoteTiles(),
    /** Promise of [{trackId, kind, framesDecoded, framesPerSecond, frameWidth, frameHeight, bytesReceived}] */
    stats: () => src.stats(),
    /** Texts of the banners on screen (errors, connection lost). */
    banners: () => src.banners(),
    /**
     * Sends `track_settings` {trackId, ...settings} for a track we receive
     * (e.g. {maxLayer: 'q'}) and stops adaptive stream from sending any for
     * it afterwards. Returns whether it was sent.
     */
    setTrackSettings: (trackId, settings = {}) => src.setTrackSettings(trackId, settings),
    /** The settings adaptive stream last sent for trackId, or null. */
    adaptiveSettings: (trackId) => src.adaptiveSettings(trackId),
    /**
     * Promise of [{trackId, participantId, source, frameWidth, frameHeight, framesDecoded,
     * framesPerSecond, bytesReceived, layer, state, reason}] per video track received;
     * layer/state/reason from the latest `stream_state`.
     */
    remoteVideoStats: () => src.remoteVideoStats(),
    /**
     * Promise of [{trackId, source, rid, frameWidth, frameHeight, framesEncoded,
     * framesPerSecond, bytesSent, active, maxBitrate, maxFramerate, qualityLimitationReason}]
     * per encoding we send.
     */
    localVideoStats: () => src.localVideoStats(),
    /** The simulcast layers we declared in publish_offer for our track trackId. */
    declaredLayers: (trackId) => src.declaredLayers(trackId),
    /** The latest `active_speakers` list: [{participantId, level}], loudest first. */
    speakers: () => src.speakers(),
    /** The server's id of our screen share / camera track, or null. */
    screenTrackId: () => src.screenTrackId(),
    cameraTrackId: () => src.cameraTrackId(),
    /**
     * Our current grants: {publish: [sources], subscribe, chat, moderate, admin}
     * from `joined`, updated by `grants_changed`; null before joining.
     */
    grants: () => src.grants(),
  };
  Object.defineProperty(window, 'huddle', { value: Object.freeze(hooks), configurable: false });
}
