package bwe

import (
	"time"

	"github.com/pion/rtcp"
)

// ack is one packet a feedback report speaks of: when we sent it, its size, and when it arrived (zero
// arrived: lost).
type ack struct {
	seq     uint16
	sentAt  int64 // unix nanos
	size    int
	arrived int64 // receiver clock, nanos; 0 when not received
	lost    bool
}

// forEachStatus walks a transport-wide feedback report in sequence-number order, calling f with each
// packet's sequence number, whether it was received, and its arrival time on the receiver's clock
// (nanoseconds since the receiver's epoch). Malformed reports end the walk early; nothing panics.
func forEachStatus(fb *rtcp.TransportLayerCC, f func(seq uint16, received bool, arrival int64)) {
	arrival := int64(fb.ReferenceTime) * int64(64*time.Millisecond)
	seq := fb.BaseSequenceNumber
	remaining := int(fb.PacketStatusCount)
	deltas := fb.RecvDeltas
	next := func(symbol uint16) bool {
		if remaining == 0 {
			return false
		}
		remaining--
		received := symbol == rtcp.TypeTCCPacketReceivedSmallDelta || symbol == rtcp.TypeTCCPacketReceivedLargeDelta
		if received {
			if len(deltas) == 0 || deltas[0] == nil {
				return false
			}
			arrival += deltas[0].Delta * int64(time.Microsecond)
			deltas = deltas[1:]
		}
		f(seq, received, arrival)
		seq++
		return true
	}
	for _, chunk := range fb.PacketChunks {
		switch c := chunk.(type) {
		case *rtcp.RunLengthChunk:
			for i := 0; i < int(c.RunLength); i++ {
				if !next(c.PacketStatusSymbol) {
					return
				}
			}
		case *rtcp.StatusVectorChunk:
			for _, s := range c.SymbolList {
				if c.SymbolSize == rtcp.TypeTCCSymbolSizeOneBit && s == 1 {
					s = rtcp.TypeTCCPacketReceivedSmallDelta
				}
				if !next(s) {
					return
				}
			}
		}
	}
}
