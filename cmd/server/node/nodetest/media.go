package nodetest

import (
	"github.com/pion/rtp"

	"github.com/huddlehq/huddle/signaling/client"
)

// ReadPackets reads a received track until it ends, handing each RTP packet (reused: do not keep it)
// and its size to f; packets that do not parse are skipped.
func ReadPackets(rt client.RemoteTrack, f func(pkt *rtp.Packet, size int)) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := rt.Track.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) == nil {
			f(&pkt, n)
		}
	}
}
