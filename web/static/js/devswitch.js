// devswitch.js: switching a running camera or microphone to another device.
//
// One job: during a call (the Devices panel, devicepanel.js), open only the
// chosen device (media.js), put its track in our local stream in place of
// the old one, have the current session send it instead (replaceTrack: same
// trackId, no renegotiation, so the others' tiles do not flicker), keep it
// muted if the old one was, and stop the old one. If the device cannot be
// opened or sent, the old one stays and the caller gets a sentence saying why.

import { getLocalTrack } from './media.js';
import { t } from './i18n.js';

/**
 * Switches stream's track of kind ('audio' | 'video') to deviceId. Resolves
 * with {switched, message}: switched when stream now holds the new track;
 * message says why not when the device could not be used. Without a track of
 * that kind in stream there is nothing to switch (the remembered choice
 * applies when the device starts).
 * @param {MediaStream|null} stream  our local stream, changed in place
 * @param {{quality: string, muted(): boolean, session(): import('./session.js').Session|null}} opts
 *   muted: whether that kind is muted or off now (a moderator's mute included)
 */
export async function switchDevice(stream, kind, deviceId, { quality, muted, session }) {
  const old = stream?.getTracks().find((t) => t.kind === kind);
  if (!old || (old.readyState === 'live' && old.getSettings().deviceId === deviceId)) return { switched: false, message: null };
  const { track, message } = await getLocalTrack(kind, { quality, deviceId });
  if (!track) return { switched: false, message };
  // Dropped (grants) or switched again while the browser opened the new one.
  if (!stream.getTracks().includes(old)) {
    track.stop();
    return { switched: false, message: null };
  }
  track.enabled = !muted();
  // The stream first: a publish that starts later (a join or a reconnect in
  // progress) sends the new track; one under way is swapped after it.
  stream.removeTrack(old);
  stream.addTrack(track);
  const s = session();
  try {
    await s?.replaceTrack(track);
  } catch (err) {
    // A session that ended meanwhile does not matter: the next one sends the stream.
    if (session() === s && s.state === 'joined' && stream.getTracks().includes(track)) {
      stream.removeTrack(track);
      stream.addTrack(old);
      track.stop();
      return { switched: false, message: t('device.switchFailed', { device: t(`device.noun.${kind}`), detail: err.message || String(err) }) };
    }
  }
  old.stop();
  return { switched: true, message: null };
}
