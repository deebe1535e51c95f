// English: the client's reference catalogue. Keys are dotted names; values
// are plain text with {placeholders}. Keep i18n/zh-CN.js in step (the Go test
// TestCatalogues compares them). Written as JSON inside a module so the test
// can read it and the browser can import it without a build step.
export default {
  "lang.label": "Language",

  "check.title": "Connection check",
  "check.again": "Check again",
  "check.details": "Details",
  "check.verdict.checking": "Checking how your network reaches the video server…",
  "check.verdict.good": "Your connection is ready for video.",
  "check.verdict.tcp": "Your network blocks UDP; video will use a TCP connection instead. It works, with a little more delay on a poor network.",
  "check.verdict.relay": "Your network blocks UDP; using a secure relay.",
  "check.verdict.none": "Video cannot get through this network. Try another network (for example mobile data), or ask the network's IT staff to allow video calls to this server.",
  "check.verdict.error": "The connection check could not run. You can still join.",
  "check.verdict.noroom": "Enter the room name to check your connection.",
  "check.path.udp": "Direct (UDP)",
  "check.path.tcp": "Direct (TCP)",
  "check.path.relay-udp": "Relay (TURN over UDP)",
  "check.path.relay-tcp": "Relay (TURN over TCP)",
  "check.path.relay-tls": "Secure relay (TURN over TLS)",
  "check.state.checking": "Checking…",
  "check.state.works": "Works · {ms} ms",
  "check.state.blocked": "Blocked",
  "check.state.absent": "Not offered by this server",

  "stats.connection": "Connection",
  "stats.path.publish": "Sending",
  "stats.path.subscribe": "Receiving",
  "stats.path.none": "Not connected yet",
  "stats.path.value": "{type} · {protocol}",
  "stats.path.relayed": "{type} · {protocol} (relay over {relayProtocol})",
  "stats.candidate.host": "direct (host)",
  "stats.candidate.srflx": "direct through NAT (srflx)",
  "stats.candidate.prflx": "direct through NAT (prflx)",
  "stats.candidate.relay": "relay",
  "stats.forcedRelay": "Relay forced by the link (relay={value})"
};
