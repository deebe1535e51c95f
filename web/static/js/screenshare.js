// screenshare.js: capturing the screen for a screen share.
//
// One job: ask the browser for a screen, window or tab (getDisplayMedia) and
// say in words why it did not work. Publishing the capture is the
// publisher's job; this module only gets the track.

import { t } from './i18n.js';

/** Whether this browser can share a screen at all (phones and old browsers cannot). */
export function canShareScreen() {
  return !!(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
}

/**
 * Resolves with {stream, track, message}: the capture (stream and its video
 * track) or nulls and, when it is worth telling the user, a message. Asking
 * for 15 fps keeps a shared document cheap to encode; the picture's size is
 * left to the browser so text stays sharp.
 */
export async function getScreen() {
  if (!canShareScreen()) {
    return { stream: null, track: null, message: t('screen.unsupported') };
  }
  try {
    const stream = await navigator.mediaDevices.getDisplayMedia({
      video: { frameRate: { ideal: 15, max: 15 } },
      audio: false,
    });
    const track = stream.getVideoTracks()[0] || null;
    if (!track) return { stream: null, track: null, message: t('screen.noPicture') };
    return { stream, track, message: null };
  } catch (err) {
    // Closing the picker is a choice, not a failure: say nothing.
    if (err && err.name === 'NotAllowedError' && !/system|permission/i.test(err.message || '')) {
      return { stream: null, track: null, message: null };
    }
    return { stream: null, track: null, message: explain(err) };
  }
}

function explain(err) {
  switch (err && err.name) {
    case 'NotAllowedError':
      return t('screen.blocked');
    case 'NotReadableError':
    case 'AbortError':
      return t('screen.captureFailed');
    default:
      return t('screen.failed', { detail: (err && err.name) || t('media.reason.unknown') });
  }
}
