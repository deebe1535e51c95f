// simulcast.js: the encodings we send for a camera and for a screen share.
//
// One job: turn a video track's actual size into the `sendEncodings` for
// addTransceiver and the `layers` that publish_offer declares
// (signaling/PROTOCOL.md, "Simulcast and bandwidth"). The server forwards each
// subscriber one layer, so a phone on a weak link gets the small picture
// while a desktop gets the full one, without anyone re-encoding.

/**
 * Camera layers, lowest first (the order PROTOCOL.md requires). Bitrates are
 * the ceilings the encoder may use; the server picks layers by these figures
 * before any media flows, so they must match what we ask Chromium for.
 */
const CAMERA_LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_700_000 },
];

/** The top layer of a 1080p consultation camera needs more bits to keep its detail. */
const FULL_HD_TOP_BITRATE = 2_500_000;

/**
 * The smallest picture worth sending as its own layer (the short side, so a
 * portrait phone camera counts the same as a landscape one). A 640x360 camera
 * still gets three layers; below that the quarter layer would be a smudge
 * that costs the encoder CPU and the server a useless choice.
 */
const MIN_LAYER_SHORT_SIDE = 90;

/** What we assume when the browser does not report the camera's size. */
const DEFAULT_SIZE = { width: 1280, height: 720 };

/** Screen shares: one sharp, slow encoding (text must stay readable, motion matters little). */
export const SCREEN_ENCODING = { maxBitrate: 2_500_000, maxFramerate: 15 };

/**
 * The simulcast plan for a camera track.
 * @param {MediaStreamTrack} track  a live camera track
 * @returns {{sendEncodings: RTCRtpEncodingParameters[], layers: {rid: string, width: number, height: number, maxBitrate: number}[]}}
 */
export function cameraSimulcast(track) {
  const s = (track && track.getSettings && track.getSettings()) || {};
  const width = s.width || DEFAULT_SIZE.width;
  const height = s.height || DEFAULT_SIZE.height;
  const fullHD = Math.max(width, height) >= 1900;

  const chosen = CAMERA_LAYERS.filter(
    (l) => l.scaleResolutionDownBy === 1 || Math.min(width, height) / l.scaleResolutionDownBy >= MIN_LAYER_SHORT_SIDE,
  ).map((l) => ({ ...l, maxBitrate: l.rid === 'f' && fullHD ? FULL_HD_TOP_BITRATE : l.maxBitrate }));

  return {
    sendEncodings: chosen.map((l) => ({
      rid: l.rid,
      scaleResolutionDownBy: l.scaleResolutionDownBy,
      maxBitrate: l.maxBitrate,
    })),
    layers: chosen.map((l) => ({
      rid: l.rid,
      // Chromium rounds the scaled size down to whole pixels.
      width: Math.floor(width / l.scaleResolutionDownBy),
      height: Math.floor(height / l.scaleResolutionDownBy),
      maxBitrate: l.maxBitrate,
    })),
  };
}
