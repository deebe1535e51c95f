// media.js: getting the local camera and microphone.
//
// One job: ask for audio+video (1280x720, or 1920x1080 for a consultation
// camera that must show fine detail) from the devices the user chose
// (devices.js), fall back to the defaults and to whichever of the two
// exists, and turn getUserMedia's exceptions into a sentence a clinician or a
// teacher can act on. Joining without media (receive-only) stays possible,
// and so is asking for one device alone (a microphone the host allowed mid
// call) without touching the other.

import { t } from './i18n.js';

/** Camera qualities the join screen offers; the value is also the ?camera= URL parameter. */
export const CAMERA_QUALITIES = ['720', '1080'];

/**
 * Constraints for a camera quality. `ideal` lets a smaller camera still start.
 * deviceId, when given, is the camera the user chose (devices.js).
 */
function videoConstraints(quality, deviceId) {
  const hd = quality === '1080';
  const c = {
    width: { ideal: hd ? 1920 : 1280 },
    height: { ideal: hd ? 1080 : 720 },
    frameRate: { ideal: 30 },
  };
  if (deviceId) c.deviceId = { exact: deviceId };
  return c;
}

/** Microphone constraints; deviceId, when given, is the microphone the user chose. */
function audioConstraints(deviceId) {
  const c = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  if (deviceId) c.deviceId = { exact: deviceId };
  return c;
}

/**
 * Resolves with {stream, message}: stream is a MediaStream or null, message a
 * user-facing explanation when something is missing, otherwise null. audio
 * and video say which devices to ask for (both by default); a device the
 * user may not use is never asked for, so its permission prompt never shows.
 * audioDevice and videoDevice are the ids the user chose ('' or absent: the
 * browser's default); a chosen device that is gone falls back to the default.
 * @param {{quality?: '720'|'1080', audio?: boolean, video?: boolean, audioDevice?: string, videoDevice?: string}} [opts]
 */
export async function getLocalMedia({ quality = '720', audio = true, video: wantVideo = true, audioDevice = '', videoDevice = '' } = {}) {
  const md = navigator.mediaDevices;
  if (!md || !md.getUserMedia) {
    return { stream: null, message: t('media.insecureJoin') };
  }
  if (!audio || !wantVideo) {
    if (!audio && !wantVideo) return { stream: null, message: null };
    const kind = audio ? 'audio' : 'video';
    const { track, message } = await getLocalTrack(kind, { quality, deviceId: audio ? audioDevice : videoDevice });
    return { stream: track ? new MediaStream([track]) : null, message };
  }
  if (audioDevice || videoDevice) {
    try {
      return { stream: await md.getUserMedia({ audio: audioConstraints(audioDevice), video: videoConstraints(quality, videoDevice) }), message: null };
    } catch (err) {
      // A refusal stands; anything else (unplugged since it was chosen, in
      // use): try the defaults, one by one if need be, as below.
      if (err.name === 'NotAllowedError' || err.name === 'SecurityError') return { stream: null, message: explain(err) };
    }
  }
  const audioDefault = audioConstraints('');
  const video = videoConstraints(quality, '');
  try {
    return { stream: await md.getUserMedia({ audio: audioDefault, video }), message: null };
  } catch (err) {
    // A refusal applies to both devices: asking again one by one would only
    // show more prompts. Anything else may concern one device, so try each.
    if (err.name === 'NotAllowedError' || err.name === 'SecurityError') {
      return { stream: null, message: explain(err) };
    }
    const audioOnly = await tryGet(md, { audio: audioDefault });
    if (audioOnly) {
      return { stream: audioOnly, message: t('media.noCamera', { reason: short(err) }) };
    }
    const videoOnly = await tryGet(md, { video });
    if (videoOnly) {
      return { stream: videoOnly, message: t('media.noMic', { reason: short(err) }) };
    }
    return { stream: null, message: explain(err) };
  }
}

/**
 * Asks for one device alone (kind 'audio' or 'video'), e.g. when the host
 * lets us use the microphone during a call. Resolves with {track, message}:
 * the track, or null and a sentence saying why not.
 * @param {'audio'|'video'} kind
 * @param {{quality?: '720'|'1080', deviceId?: string}} [opts]
 */
export async function getLocalTrack(kind, { quality = '720', deviceId = '' } = {}) {
  const md = navigator.mediaDevices;
  if (!md || !md.getUserMedia) return { track: null, message: t('media.insecure') };
  const constraints = (id) => (kind === 'audio' ? { audio: audioConstraints(id) } : { video: videoConstraints(quality, id) });
  try {
    let stream;
    try {
      stream = await md.getUserMedia(constraints(deviceId));
    } catch (err) {
      // A chosen device that is gone: fall back to the default one.
      if (!deviceId || (err.name !== 'OverconstrainedError' && err.name !== 'NotFoundError')) throw err;
      stream = await md.getUserMedia(constraints(''));
    }
    const track = (kind === 'audio' ? stream.getAudioTracks() : stream.getVideoTracks())[0] || null;
    return track ? { track, message: null } : { track: null, message: explainOne(kind, null) };
  } catch (err) {
    return { track: null, message: explainOne(kind, err) };
  }
}

/** Stops every track of stream (releases the camera light). */
export function stopStream(stream) {
  if (stream) for (const t of stream.getTracks()) t.stop();
}

async function tryGet(md, constraints) {
  try {
    return await md.getUserMedia(constraints);
  } catch {
    return null;
  }
}

/** A few words for the device that is missing when the other one works. */
function short(err) {
  switch (err && err.name) {
    case 'NotFoundError': return t('media.reason.notFound');
    case 'OverconstrainedError': return t('media.reason.format');
    case 'NotReadableError':
    case 'AbortError': return t('media.reason.inUse');
    default: return (err && err.name) || t('media.reason.unknown');
  }
}

function explain(err) {
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return t('media.blocked');
    case 'NotFoundError':
    case 'OverconstrainedError':
      return t('media.notFound');
    case 'NotReadableError':
    case 'AbortError':
      return t('media.inUse');
    default:
      return t('media.failed', { detail: (err && err.name) || t('media.reason.unknown') });
  }
}

/** Why one device could not be started, for the user asking for it mid call. */
function explainOne(kind, err) {
  const device = t(`device.noun.${kind}`);
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return t('media.one.blocked', { device });
    case 'NotFoundError':
    case 'OverconstrainedError':
      return t('media.one.notFound', { device });
    case 'NotReadableError':
    case 'AbortError':
      return t('media.one.inUse', { device });
    default:
      return t('media.one.failed', { device, detail: (err && err.name) || t('media.reason.unknown') });
  }
}
