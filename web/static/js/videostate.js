// videostate.js: one account of why a video we receive looks the way it does.
//
// One job: turn the server's `stream_state` for a track (PROTOCOL.md: paused and why, or the layer
// forwarded and what holds it below the best asked for) into one story, which the tile's notice, the
// tile's quality mark and the stats panel all tell. So a tile never reads "paused, your connection is
// too weak" under a "good" mark: a pause for our downlink makes the mark poor. A lower layer (our
// downlink's estimate, or the sender sending no better) is said in the mark's words and the stats
// panel but leaves its level to the measured loss and round trip: the estimate is cautious, and a
// picture that flows without loss is a good connection. No state, no DOM.

import { t } from './i18n.js';

/**
 * The story of one received video: state 'flowing' | 'paused' | 'limited' ('' when nothing is known
 * yet) and cause 'downlink' (our connection), 'hidden' (we asked: the tile is not shown), 'sender'
 * (the publisher does not send better), or ''.
 * @param {{state?: string, reason?: string, limit?: string} | null | undefined} st  the latest stream_state
 */
export function videoStory(st) {
  if (!st || !st.state) return { state: '', cause: '' };
  if (st.state === 'paused') return { state: 'paused', cause: st.reason === 'bandwidth' ? 'downlink' : 'hidden' };
  if (st.limit === 'bandwidth') return { state: 'limited', cause: 'downlink' };
  if (st.limit === 'publisher') return { state: 'limited', cause: 'sender' };
  return { state: 'flowing', cause: '' };
}

/** The story in words for the stats panel and the quality mark's tooltip; '' while it is flowing. */
export function storyText(story) {
  return story.cause ? t(`video.${story.state}.${story.cause}`) : '';
}

/** The words on the tile itself: only a pause for our connection is worth covering the picture for. */
export function storyNotice(story) {
  return story.state === 'paused' && story.cause === 'downlink' ? t('video.notice.downlink') : '';
}

/**
 * The quality mark of a participant whose video has this story, given the level measured from loss
 * and round trip ('unknown' when nothing was measured, e.g. nothing flows).
 */
export function storyLevel(measured, story) {
  if (story.state === 'paused' && story.cause === 'downlink') return 'poor';
  return measured;
}
