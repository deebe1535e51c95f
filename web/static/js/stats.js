// stats.js: what the media connections carry, per track, every few seconds.
//
// One job: read getStats() of both PeerConnections of the current session,
// turn the counters into rates over the last interval (bitrate, loss, frame
// rate), attach who and what each RTP stream is (our camera's simulcast layer,
// someone's microphone), and hand the sample to listeners: the per-tile
// quality indicators (quality.js) and the stats panel (statspanel.js). One
// poll serves both, so opening the panel costs nothing extra.
//
// A row: {key, direction: 'out'|'in', participantId (null: us), source, kind,
// trackId, rid, width, height, fps, bitrate (bit/s), packets (in the
// interval), loss (fraction 0..1 in the interval, null: unknown), rtt (ms,
// null: unknown), jitter (ms), limitation (outbound video: why the encoder
// holds back, 'none' when it does not), active (outbound: false for a
// simulcast layer dynacast turned off because nobody receives it)}. Rows come
// sorted: what we send first (microphone, camera layers smallest first,
// screen), then what we receive, by participant.

const STATS_INTERVAL_MS = 2000;

/** Turns cumulative getStats counters into per-interval rows for one session. */
class Sampler {
  constructor(session) {
    this.session = session;
    this.prev = new Map(); // stats id -> {timestamp, bytes, packets, lost}
  }

  async sample() {
    const s = this.session;
    const rows = [];
    const [pub, sub] = await Promise.all([
      s.publisher ? s.publisher.peer.pc.getStats().catch(() => null) : null,
      s.subscriber ? s.subscriber.peer.pc.getStats().catch(() => null) : null,
    ]);
    const seen = new Set();
    if (pub) this.#outbound(pub, rows, seen);
    if (sub) this.#inbound(sub, rows, seen);
    for (const id of [...this.prev.keys()]) if (!seen.has(id)) this.prev.delete(id);
    rows.sort(byDisplayOrder);
    return {
      at: Date.now(),
      rows,
      rtt: { publish: pairRtt(pub), subscribe: pairRtt(sub) },
      path: { publish: selectedPath(pub), subscribe: selectedPath(sub) },
      state: {
        publish: s.publisher ? s.publisher.peer.pc.connectionState : 'new',
        subscribe: s.subscriber ? s.subscriber.peer.pc.connectionState : 'new',
      },
    };
  }

  #outbound(report, rows, seen) {
    const byMid = new Map();
    for (const [source, e] of this.session.publisher.local) {
      if (e.transceiver.mid === null) continue;
      const encodings = e.transceiver.sender.getParameters().encodings || [];
      byMid.set(e.transceiver.mid, { source, entry: e, encodings });
    }
    const fallbackRtt = pairRtt(report);
    for (const st of report.values()) {
      if (st.type !== 'outbound-rtp') continue;
      const m = byMid.get(st.mid);
      if (!m) continue;
      seen.add(st.id);
      const d = this.#delta(st.id, st.timestamp, st.bytesSent, st.packetsSent, 0);
      const remote = st.remoteId ? report.get(st.remoteId) : null;
      const enc = m.encodings.find((x) => (x.rid || '') === (st.rid || ''));
      rows.push({
        key: `out:${st.id}`,
        direction: 'out',
        participantId: null,
        source: m.source,
        kind: st.kind,
        trackId: m.entry.trackId,
        rid: st.rid || '',
        width: st.frameWidth ?? 0,
        height: st.frameHeight ?? 0,
        fps: st.framesPerSecond ?? 0,
        bitrate: d.bitrate,
        packets: d.packets,
        // What the server's receiver reports of our stream (RTCP RR).
        loss: remote && typeof remote.fractionLost === 'number' ? remote.fractionLost : null,
        rtt: remote && typeof remote.roundTripTime === 'number' ? Math.round(remote.roundTripTime * 1000) : fallbackRtt,
        jitter: remote && typeof remote.jitter === 'number' ? Math.round(remote.jitter * 1000) : null,
        limitation: st.qualityLimitationReason || '',
        active: !enc || enc.active !== false,
      });
    }
  }

  #inbound(report, rows, seen) {
    const sess = this.session;
    const mids = sess.subscriber.mids;
    const rtt = pairRtt(report);
    for (const st of report.values()) {
      if (st.type !== 'inbound-rtp') continue;
      const trackId = mids.get(st.mid);
      if (!trackId) continue;
      seen.add(st.id);
      const meta = sess.tracks.get(trackId) || {};
      const d = this.#delta(st.id, st.timestamp, st.bytesReceived, st.packetsReceived, st.packetsLost);
      rows.push({
        key: `in:${trackId}`,
        direction: 'in',
        participantId: meta.participantId ?? null,
        source: meta.source ?? (st.kind === 'audio' ? 'microphone' : 'camera'),
        kind: st.kind,
        trackId,
        rid: sess.streamStates.get(trackId)?.layer ?? '',
        streamState: sess.streamStates.get(trackId) ?? null,
        width: st.frameWidth ?? 0,
        height: st.frameHeight ?? 0,
        fps: st.framesPerSecond ?? 0,
        bitrate: d.bitrate,
        packets: d.packets,
        loss: d.packets + d.lost > 0 ? Math.max(0, d.lost) / (d.packets + Math.max(0, d.lost)) : null,
        rtt,
        jitter: typeof st.jitter === 'number' ? Math.round(st.jitter * 1000) : null,
        limitation: '',
        active: true,
      });
    }
  }

  /** Differences since the previous sample of the same RTP stream. */
  #delta(id, timestamp, bytes = 0, packets = 0, lost = 0) {
    const prev = this.prev.get(id);
    this.prev.set(id, { timestamp, bytes, packets, lost });
    if (!prev || timestamp <= prev.timestamp) return { bitrate: 0, packets: 0, lost: 0 };
    const secs = (timestamp - prev.timestamp) / 1000;
    return {
      bitrate: Math.max(0, Math.round(((bytes - prev.bytes) * 8) / secs)),
      packets: Math.max(0, packets - prev.packets),
      lost: lost - prev.lost,
    };
  }
}

const SOURCE_ORDER = { microphone: 0, camera: 1, screen: 2, screen_audio: 3 };
const RID_ORDER = { q: 0, h: 1, f: 2 };

/** Ours first; then by participant, source, and simulcast layer from the smallest. */
function byDisplayOrder(a, b) {
  if (a.direction !== b.direction) return a.direction === 'out' ? -1 : 1;
  if ((a.participantId || '') !== (b.participantId || '')) return (a.participantId || '') < (b.participantId || '') ? -1 : 1;
  const s = (SOURCE_ORDER[a.source] ?? 9) - (SOURCE_ORDER[b.source] ?? 9);
  return s !== 0 ? s : (RID_ORDER[a.rid] ?? 9) - (RID_ORDER[b.rid] ?? 9);
}

/** The PC's selected ICE candidate pair, or null (none yet). */
function selectedPair(report) {
  if (!report) return null;
  for (const st of report.values()) {
    if (st.type === 'transport' && st.selectedCandidatePairId) return report.get(st.selectedCandidatePairId) || null;
  }
  return null;
}

/**
 * How the PC reaches the server: {type: host|srflx|prflx|relay, protocol:
 * udp|tcp, relayProtocol: udp|tcp|tls|''} of our end of the selected pair, or
 * null before one is selected. A relayed pair's protocol is the relay's leg
 * to the server; relayProtocol is how we reach the relay.
 */
export function selectedPath(report) {
  const pair = selectedPair(report);
  const local = pair && report.get(pair.localCandidateId);
  if (!local) return null;
  return {
    type: local.candidateType || '',
    protocol: local.protocol || '',
    relayProtocol: local.candidateType === 'relay' ? (local.relayProtocol || '') : '',
  };
}

/** The browser's own estimate of what the PC may send, in bits/s (its congestion control), or null. */
export function availableOutgoingBitrate(report) {
  const pair = selectedPair(report);
  return pair && typeof pair.availableOutgoingBitrate === 'number' ? pair.availableOutgoingBitrate : null;
}

/** The round-trip time of the PC's selected ICE candidate pair in ms, or null. */
function pairRtt(report) {
  if (!report) return null;
  for (const st of report.values()) {
    if (st.type !== 'transport' || !st.selectedCandidatePairId) continue;
    const pair = report.get(st.selectedCandidatePairId);
    if (pair && typeof pair.currentRoundTripTime === 'number') return Math.round(pair.currentRoundTripTime * 1000);
  }
  for (const st of report.values()) {
    if (st.type === 'candidate-pair' && st.nominated && st.state === 'succeeded' && typeof st.currentRoundTripTime === 'number') {
      return Math.round(st.currentRoundTripTime * 1000);
    }
  }
  return null;
}

/**
 * Polls the current session every STATS_INTERVAL_MS while it is joined and
 * calls every listener with each sample ({at, rows, rtt, state}).
 */
export class StatsMonitor {
  /** @param {() => import('./session.js').Session | null} currentSession */
  constructor(currentSession) {
    this.currentSession = currentSession;
    this.listeners = new Set();
    this.sampler = null;
    this.latest = null;
    this.busy = false;
    this.timer = setInterval(() => this.poll(), STATS_INTERVAL_MS);
  }

  /** Calls fn(sample) after every poll; returns a function that unsubscribes. */
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Takes a sample now (the panel opening wants figures at once). */
  async poll() {
    const s = this.currentSession();
    if (!s || s.state !== 'joined') {
      this.sampler = null;
      return this.latest;
    }
    if (this.busy) return this.latest;
    // A new session (a reconnect) starts its counters from zero.
    if (!this.sampler || this.sampler.session !== s) this.sampler = new Sampler(s);
    this.busy = true;
    try {
      const sample = await this.sampler.sample();
      if (this.currentSession() !== s) return this.latest;
      this.latest = sample;
      for (const fn of this.listeners) fn(sample);
      return sample;
    } finally {
      this.busy = false;
    }
  }
}
