// connectivity.js: the pre-join connectivity check (signaling/PROTOCOL.md
// "Connectivity check").
//
// One job: find out which paths to the media server work from this network
// before the user joins: direct UDP, direct TCP (ICE/TCP) and the TURN relay
// over UDP, TCP and TLS. On a socket of its own it sends `preflight` (which
// hands out the ICE servers `joined` would), then tests each path with a
// throwaway RTCPeerConnection that carries one data channel: the path works
// when the channel opens and a message comes back (its round trip is shown).
// UDP and TCP run side by side; the relay transports one after another (the
// server keeps one relay check per session at a time). It never joins and
// never blocks joining: the caller shows the results (checkpanel.js).
//
// Results: {id, state, rtt} per path, id one of PATH_IDS, state 'checking',
// 'works', 'blocked' or 'absent' (the server does not offer it), rtt in ms.

import { Signaling, defaultURL } from './signaling.js';

/** The paths in the order they are shown. */
export const PATH_IDS = ['udp', 'tcp', 'relay-udp', 'relay-tcp', 'relay-tls'];

const GATHER_TIMEOUT_MS = 5000; // gathering host candidates takes milliseconds; relay ones a round trip
const OPEN_TIMEOUT_MS = 8000; // a path that has not connected by then counts as blocked
const ECHO_TIMEOUT_MS = 3000;

/**
 * The TURN servers of iceServers to test, at most one per transport:
 * {transport: 'udp'|'tcp'|'tls', server: RTCIceServer with that one URL}.
 */
export function relayTargets(iceServers) {
  const found = new Map();
  for (const server of iceServers || []) {
    const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
    for (const url of urls) {
      const transport = turnTransport(url);
      if (!transport || found.has(transport)) continue;
      found.set(transport, { transport, server: { urls: [url], username: server.username, credential: server.credential } });
    }
  }
  return ['udp', 'tcp', 'tls'].filter((t) => found.has(t)).map((t) => found.get(t));
}

/** 'udp', 'tcp' or 'tls' for a turn:/turns: URL (RFC 7065), '' for anything else. */
export function turnTransport(url) {
  if (typeof url !== 'string') return '';
  const m = /^(turns?):[^?]*(?:\?transport=(udp|tcp))?$/i.exec(url.trim());
  if (!m) return '';
  if (m[1].toLowerCase() === 'turns') return 'tls';
  return (m[2] || 'udp').toLowerCase();
}

/**
 * Runs the check for room (and token). onUpdate(results) is called whenever a
 * path's state changes; the promise resolves with the final results, or
 * rejects with a SignalingError when the server refuses the preflight (its
 * code says why: an expired invitation, a wrong room).
 * @param {{room: string, token?: string, url?: string, onUpdate?: (r: object[]) => void}} opts
 */
export async function runCheck({ room, token = '', url = defaultURL(), onUpdate = () => {} }) {
  const results = PATH_IDS.map((id) => ({ id, state: 'checking', rtt: null }));
  const set = (id, state, rtt = null) => {
    const r = results.find((x) => x.id === id);
    r.state = state;
    r.rtt = rtt;
    onUpdate(results.map((x) => ({ ...x })));
  };
  onUpdate(results.map((x) => ({ ...x })));

  const sig = new Signaling(url);
  try {
    await sig.connect();
    const info = await sig.request('preflight', { room, token: token || undefined }, 'preflight_info');
    const offered = new Set(info.paths || []);
    const direct = ['udp', 'tcp'].map(async (path) => {
      if (!offered.has(path)) return set(path, 'absent');
      const rtt = await tryPath(sig, path, { iceServers: [] });
      set(path, rtt === null ? 'blocked' : 'works', rtt);
    });
    const relays = (async () => {
      const targets = offered.has('relay') ? relayTargets(info.iceServers) : [];
      for (const transport of ['udp', 'tcp', 'tls']) {
        const target = targets.find((x) => x.transport === transport);
        if (!target) set(`relay-${transport}`, 'absent');
      }
      for (const target of targets) {
        const rtt = await tryPath(sig, 'relay', { iceServers: [target.server], iceTransportPolicy: 'relay' });
        set(`relay-${target.transport}`, rtt === null ? 'blocked' : 'works', rtt);
      }
    })();
    await Promise.all([...direct, relays]);
    return results.map((x) => ({ ...x }));
  } finally {
    sig.close();
  }
}

/**
 * One path: resolves with the data channel's round trip in ms, or null when
 * the path does not work (no candidates, refused, timed out).
 */
async function tryPath(sig, path, config) {
  const pc = new RTCPeerConnection({ ...config, bundlePolicy: 'max-bundle' });
  try {
    const channel = pc.createDataChannel('check');
    const opened = new Promise((resolve) => {
      channel.onopen = () => resolve(true);
      pc.oniceconnectionstatechange = () => pc.iceConnectionState === 'failed' && resolve(false);
    });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const sdp = pc.localDescription.sdp;
    // A browser (or policy) that gathers no UDP candidate cannot use UDP:
    // no need to wait for a timeout to say so.
    if (path === 'udp' && !/^a=candidate:\S+ \d+ udp /im.test(sdp)) return null;
    if (path === 'relay' && !/ typ relay/i.test(sdp)) return null;
    let answer;
    try {
      answer = await sig.request('check_offer', { path, sdp }, 'check_answer');
    } catch (err) {
      console.warn(`huddle: connectivity check ${path} refused: ${err.code}: ${err.message}`);
      return null;
    }
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    if (!(await within(opened, OPEN_TIMEOUT_MS, false))) return null;
    return await echo(channel);
  } catch (err) {
    console.warn(`huddle: connectivity check ${path} failed`, err);
    return null;
  } finally {
    pc.close();
  }
}

function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  const done = new Promise((resolve) => {
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
  });
  return within(done, GATHER_TIMEOUT_MS, undefined);
}

/** Sends a timestamp on the open channel; resolves with the round trip in ms, or null. */
function echo(channel) {
  const sent = performance.now();
  const back = new Promise((resolve) => {
    channel.onmessage = () => resolve(Math.max(1, Math.round(performance.now() - sent)));
  });
  channel.send(String(sent));
  return within(back, ECHO_TIMEOUT_MS, null);
}

function within(promise, ms, fallback) {
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve(fallback), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The summary of results: a catalogue key for the plain-language verdict.
 * While paths are still being checked it gives the best news so far, or
 * 'check.verdict.checking'.
 */
export function verdictKey(results) {
  const state = Object.fromEntries(results.map((r) => [r.id, r.state]));
  const relays = ['relay-udp', 'relay-tcp', 'relay-tls'];
  const anyRelay = relays.some((id) => state[id] === 'works');
  const pending = results.some((r) => r.state === 'checking');
  if (state.udp === 'works') return 'check.verdict.good';
  if (state.udp === 'checking') return 'check.verdict.checking';
  if (state.tcp === 'works') return 'check.verdict.tcp';
  if (state.tcp === 'checking') return 'check.verdict.checking';
  if (anyRelay) return 'check.verdict.relay';
  return pending ? 'check.verdict.checking' : 'check.verdict.none';
}
