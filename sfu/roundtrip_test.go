package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// TestRoundTripFromReceiverReports: a report block echoing our last sender report gives the round trip
// (now - sent - the receiver's delay); one about another stream, or echoing an older report, does not.
func TestRoundTripFromReceiverReports(t *testing.T) {
	const ssrc = 0x1234
	sent := time.Unix(1_800_000_000, 0)
	cases := []struct {
		name   string
		report rtcp.ReceptionReport
		want   time.Duration
	}{
		{"echoes our report", rtcp.ReceptionReport{SSRC: ssrc, LastSenderReport: 0xabcd0123, Delay: 40 * 65536 / 1000}, 60 * time.Millisecond},
		{"another stream", rtcp.ReceptionReport{SSRC: ssrc + 1, LastSenderReport: 0xabcd0123, Delay: 0}, 0},
		{"an older report", rtcp.ReceptionReport{SSRC: ssrc, LastSenderReport: 0xabcd0000, Delay: 0}, 0},
		{"no report received yet", rtcp.ReceptionReport{SSRC: ssrc}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &DownTrack{}
			d.bound.Store(&binding{ssrc: ssrc})
			d.noteSenderReport(0xabcd0123, sent)
			d.noteSenderReport(0xabcd9999, sent.Add(50*time.Millisecond)) // a newer one the receiver has not got yet
			d.onReceiverReport([]rtcp.ReceptionReport{tc.report}, sent.Add(100*time.Millisecond))
			if got := d.RoundTrip(); got < tc.want-time.Millisecond || got > tc.want+time.Millisecond {
				t.Errorf("round trip %s, want %s", got, tc.want)
			}
		})
	}
}
