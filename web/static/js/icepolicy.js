// icepolicy.js: the RTCConfiguration of the call's PeerConnections.
//
// One job: build it from the ICE servers `joined` hands out (the node's TURN
// relay with this session's credentials, and any external TURN servers), and
// apply the support switch `?relay=`: `1` forces every connection through a
// relay (iceTransportPolicy 'relay'), `udp`, `tcp` or `tls` through the relay
// over that transport only, so support staff can reproduce what a patient
// behind a strict firewall gets.

import { turnTransport } from './connectivity.js';

const RELAY_VALUES = new Set(['1', 'true', 'udp', 'tcp', 'tls']);

/** The page's relay switch: '' (off), 'any', 'udp', 'tcp' or 'tls'. */
export function readRelaySwitch(search = location.search) {
  const v = (new URLSearchParams(search).get('relay') || '').toLowerCase();
  if (!RELAY_VALUES.has(v)) return '';
  return v === '1' || v === 'true' ? 'any' : v;
}

/**
 * The configuration for iceServers under the relay switch. With a transport
 * named, only the TURN URLs of that transport are kept.
 */
export function rtcConfiguration(iceServers, relay = '') {
  let servers = iceServers || [];
  if (relay && relay !== 'any') {
    servers = servers
      .map((s) => ({ ...s, urls: (Array.isArray(s.urls) ? s.urls : [s.urls]).filter((u) => turnTransport(u) === relay) }))
      .filter((s) => s.urls.length > 0);
  }
  const config = { iceServers: servers, bundlePolicy: 'max-bundle' };
  if (relay) config.iceTransportPolicy = 'relay';
  return config;
}
