// 简体中文 (Simplified Chinese). Same keys and {placeholders} as i18n/en.js;
// the Go test TestCatalogues compares them.
export default {
  "lang.label": "语言",

  "check.title": "网络检测",
  "check.again": "重新检测",
  "check.details": "详情",
  "check.verdict.checking": "正在检测您的网络与视频服务器的连接…",
  "check.verdict.good": "您的网络连接正常，可以进行视频通话。",
  "check.verdict.tcp": "您的网络屏蔽了 UDP，视频将改用 TCP 连接。通话可以进行，网络较差时延迟会稍大。",
  "check.verdict.relay": "您的网络屏蔽了 UDP，正在使用安全中继。",
  "check.verdict.none": "视频无法通过当前网络。请换一个网络（例如手机移动数据），或请网络管理员允许访问此视频服务器。",
  "check.verdict.error": "无法完成网络检测。您仍然可以加入。",
  "check.verdict.noroom": "请输入房间名称以检测网络连接。",
  "check.path.udp": "直连（UDP）",
  "check.path.tcp": "直连（TCP）",
  "check.path.relay-udp": "中继（TURN，UDP）",
  "check.path.relay-tcp": "中继（TURN，TCP）",
  "check.path.relay-tls": "安全中继（TURN，TLS）",
  "check.state.checking": "检测中…",
  "check.state.works": "可用 · {ms} 毫秒",
  "check.state.blocked": "被屏蔽",
  "check.state.absent": "此服务器未提供",

  "stats.connection": "连接",
  "stats.path.publish": "发送",
  "stats.path.subscribe": "接收",
  "stats.path.none": "尚未连接",
  "stats.path.value": "{type} · {protocol}",
  "stats.path.relayed": "{type} · {protocol}（经 {relayProtocol} 中继）",
  "stats.candidate.host": "直连（本机地址）",
  "stats.candidate.srflx": "经 NAT 直连（srflx）",
  "stats.candidate.prflx": "经 NAT 直连（prflx）",
  "stats.candidate.relay": "中继",
  "stats.forcedRelay": "链接已强制使用中继（relay={value}）"
};
