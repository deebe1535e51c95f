package netem

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// ICE candidate attribute fields (RFC 8839 §5.1): foundation component transport priority address port
// "typ" type [extensions...]. The foundation field carries the "candidate:" prefix.
const (
	fieldTransport = 2
	fieldAddress   = 4
	fieldPort      = 5
	fieldTyp       = 6
	fieldType      = 7
	minFields      = 8
)

// hostUDP splits a candidate ("candidate:..." with or without an "a=" prefix) into its fields if it is a
// host UDP candidate with a literal IP address and a valid port.
func hostUDP(candidate string) (fields []string, addr netip.AddrPort, ok bool) {
	fields = strings.Fields(candidate)
	if len(fields) < minFields || !strings.HasPrefix(strings.TrimPrefix(fields[0], "a="), "candidate:") ||
		!strings.EqualFold(fields[fieldTransport], "udp") || fields[fieldTyp] != "typ" || fields[fieldType] != "host" {
		return nil, netip.AddrPort{}, false
	}
	ip, err := netip.ParseAddr(fields[fieldAddress])
	if err != nil {
		return nil, netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(fields[fieldPort], 10, 16)
	if err != nil {
		return nil, netip.AddrPort{}, false
	}
	return fields, netip.AddrPortFrom(ip.Unmap(), uint16(port)), true
}

// RewriteCandidate points a host UDP candidate at via instead, keeping its other fields; any other
// candidate (TCP, srflx, relay, mDNS names, malformed) comes back unchanged. Give it only candidates of the
// target; (*Relay).RewriteCandidate checks that for you.
func RewriteCandidate(candidate string, via *net.UDPAddr) string {
	fields, _, ok := hostUDP(candidate)
	if !ok || via == nil {
		return candidate
	}
	fields[fieldAddress] = via.IP.String()
	fields[fieldPort] = strconv.Itoa(via.Port)
	return strings.Join(fields, " ")
}

// RewriteCandidate points a host UDP candidate of the relay's target at the relay; any other candidate
// comes back unchanged. Use it as client.Options.RewriteCandidate (ignoring the target argument).
func (r *Relay) RewriteCandidate(candidate string) string {
	_, addr, ok := hostUDP(candidate)
	target, tok := netip.AddrFromSlice(r.target.IP)
	if !ok || !tok || addr != netip.AddrPortFrom(target.Unmap(), uint16(r.target.Port)) {
		return candidate
	}
	return RewriteCandidate(candidate, r.Addr())
}

// IsRTP reports whether a datagram is RTP (or SRTP): first byte 128–191 (RFC 7983) and a second byte
// outside 192–223, the range RTCP's packet types occupy (RFC 5761 §4).
func IsRTP(pkt []byte) bool {
	return len(pkt) >= 12 && pkt[0] >= 128 && pkt[0] <= 191 && (pkt[1] < 192 || pkt[1] > 223)
}

// IsRTCP reports whether a datagram is RTCP (or SRTCP) by the same rules.
func IsRTCP(pkt []byte) bool {
	return len(pkt) >= 8 && pkt[0] >= 128 && pkt[0] <= 191 && pkt[1] >= 192 && pkt[1] <= 223
}
