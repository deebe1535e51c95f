// quality.js: good / fair / poor connection, per participant.
//
// One job: turn a stats sample (stats.js) into one connection-quality level
// per tile: for someone else, how well their media reaches us (loss on what we
// receive of them, our round trip to the server); for us, how well ours
// reaches the server (loss the server reports, round trip). Levels follow
// what people notice: under 2 % loss and 300 ms round trip a call feels
// fine; up to 8 % and 600 ms it stutters now and then; beyond, it breaks up.
// A tile whose media is not flowing on purpose (paused off screen, nothing
// published) gets no level rather than a wrong one.

const LEVELS = [
  { level: 'good', maxLoss: 0.02, maxRtt: 300 },
  { level: 'fair', maxLoss: 0.08, maxRtt: 600 },
];

import { t } from './i18n.js';

/** Words for each level ('' for 'unknown'), for the tile's tooltip and for screen readers. */
export function qualityText(level) {
  return level === 'good' || level === 'fair' || level === 'poor' ? t(`quality.${level}`) : '';
}

/**
 * The level for a loss fraction (0..1, null: unknown) and a round trip
 * (ms, null: unknown); 'unknown' when both are unknown.
 */
function classify(loss, rtt) {
  if (loss === null && rtt === null) return 'unknown';
  for (const l of LEVELS) {
    if ((loss === null || loss < l.maxLoss) && (rtt === null || rtt < l.maxRtt)) return l.level;
  }
  return 'poor';
}

/**
 * Levels for one sample: Map of participantId (null: us) -> {level, loss, rtt}.
 * Participants with no flowing media in the sample are left out.
 */
export function qualityByParticipant(sample) {
  const groups = new Map(); // participantId -> rows carrying packets
  for (const r of sample.rows) {
    if (r.packets === 0) continue;
    if (!groups.has(r.participantId)) groups.set(r.participantId, []);
    groups.get(r.participantId).push(r);
  }
  const out = new Map();
  for (const [pid, rows] of groups) {
    const losses = rows.map((r) => r.loss).filter((x) => x !== null);
    const rtts = rows.map((r) => r.rtt).filter((x) => x !== null);
    const loss = losses.length ? Math.max(...losses) : null;
    const rtt = rtts.length ? Math.max(...rtts) : null;
    const failed = sample.state[pid === null ? 'publish' : 'subscribe'];
    const level = failed === 'disconnected' || failed === 'failed' ? 'poor' : classify(loss, rtt);
    out.set(pid, { level, loss, rtt });
  }
  return out;
}

/** The tooltip: the level and the figures behind it. */
export function qualityDetail({ level, loss, rtt }) {
  const parts = [];
  if (loss !== null) parts.push(t('quality.loss', { value: (loss * 100).toFixed(1) }));
  if (rtt !== null) parts.push(t('quality.rtt', { ms: rtt }));
  return parts.length ? t('quality.detail', { level: qualityText(level), figures: parts.join(t('common.listSep')) }) : qualityText(level);
}
