package loadtest_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/cmd/server/node/nodetest"
	"github.com/huddlehq/huddle/loadtest"
	"github.com/huddlehq/huddle/signaling/cluster/redistest"
)

// startNode runs an in-process server on free loopback ports for the duration of the test.
func startNode(t *testing.T) *node.Node { return nodetest.Start(t, nil) }

func wsURL(n *node.Node) string { return nodetest.WSURL(n) }

// testLogger prints warnings (a participant that failed, a source that stopped) into the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestPresets runs each preset at small scale against an in-process server: everyone joins, every
// receiver gets every track it should with no loss to speak of, and what the receivers read agrees with
// what the server says it forwarded.
func TestPresets(t *testing.T) {
	tests := []struct {
		preset string
		adjust func(*loadtest.Options)
		check  func(*testing.T, *loadtest.Report)
	}{
		{"livestream", func(o *loadtest.Options) { *o = o.Scaled(0.1) }, func(t *testing.T, r *loadtest.Report) {
			if r.Participants.Planned != 4 {
				t.Errorf("livestream at 0.1: %d participants, want 1 publisher and 3 subscribers", r.Participants.Planned)
			}
		}},
		{"meeting", func(o *loadtest.Options) { o.Publishers, o.Subscribers = 3, 3 }, func(t *testing.T, r *loadtest.Report) {
			// 3x3 tiles are 426x240: the server never needs f for them.
			if r.Layers["f"] != 0 {
				t.Errorf("a 3x3 grid received f: %v", r.Layers)
			}
		}},
		{"classroom", func(o *loadtest.Options) { *o = o.Scaled(0.1) }, func(t *testing.T, r *loadtest.Report) {
			if o := r.Options; o.Publishers != 1 || o.ScreenShares != 1 || o.Subscribers != 6 || o.AudioPublishers != 1 {
				t.Errorf("classroom at 0.1: %+v", o)
			}
			if r.Layers["single"] == 0 {
				t.Errorf("no receiver got the screen share: layers %v", r.Layers)
			}
		}},
		{"consultation", func(o *loadtest.Options) { *o = o.Scaled(0.1) }, func(t *testing.T, r *loadtest.Report) {
			if r.Options.Rooms != 2 || r.Participants.Planned != 4 {
				t.Errorf("consultation at 0.1: %d rooms, %d participants", r.Options.Rooms, r.Participants.Planned)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.preset, func(t *testing.T) {
			n := startNode(t)
			o, err := loadtest.PresetOptions(tt.preset)
			if err != nil {
				t.Fatal(err)
			}
			tt.adjust(&o)
			o.URL, o.Duration, o.JoinRate, o.Seed = wsURL(n), 3*time.Second, 20, 7
			o.Logger = testLogger(t)
			rep, _ := runAndLog(t, o)
			checkReport(t, rep)
			tt.check(t, rep)
			if t.Failed() {
				js, _ := json.MarshalIndent(rep.Receivers, "", " ")
				t.Logf("receivers: %s", js)
			}
			if failures := rep.Check(loadtest.Thresholds{MaxLoss: 0.01, MaxFailures: 0, MaxMissingTracks: 0}); len(failures) > 0 {
				t.Errorf("thresholds: %v", failures)
			}
		})
	}
}

// runAndLog runs o (within a minute) and logs its text report, which it also returns.
func runAndLog(t *testing.T, o loadtest.Options) (*loadtest.Report, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := loadtest.Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", text.String())
	return rep, text.String()
}

// checkReport asserts what every preset's report must show.
func checkReport(t *testing.T, r *loadtest.Report) {
	t.Helper()
	p := r.Participants
	if p.Joined != p.Planned || p.Failed != 0 || p.Skipped != 0 {
		t.Errorf("participants %+v", p)
	}
	if r.Tracks.Expected == 0 || r.Tracks.Received != r.Tracks.Expected {
		t.Errorf("tracks: %d expected, %d received, missing %v", r.Tracks.Expected, r.Tracks.Received, r.Tracks.Missing)
	}
	if r.Loss.Expected == 0 || r.Loss.Rate > 0.01 {
		t.Errorf("loss %d of %d", r.Loss.Missing, r.Loss.Expected)
	}
	if r.FirstMediaMs.N != r.Tracks.Received || r.JoinMs.N != p.Joined {
		t.Errorf("first media for %d tracks of %d; join latency for %d of %d participants", r.FirstMediaMs.N, r.Tracks.Received, r.JoinMs.N, p.Joined)
	}
	if r.LatencyMs.N == 0 || r.LatencyMs.P50 <= 0 || r.LatencyMs.P99 > 2000 {
		t.Errorf("latency %+v", r.LatencyMs)
	}
	if r.ReceiverKbps.N == 0 || r.ReceiverKbps.Min <= 0 {
		t.Errorf("receiver bitrates %+v", r.ReceiverKbps)
	}
	for _, rr := range r.Receivers {
		for _, tr := range rr.Tracks {
			if tr.Kind == "video" && tr.Layer == "" {
				t.Errorf("%s/%s: no layer for video track %s", rr.Room, rr.Name, tr.TrackID)
			}
		}
	}
	s := r.Server
	if !s.Scraped || s.CPUSeconds <= 0 || s.PacketsOut <= 0 || s.PacketsPerCPUS <= 0 {
		t.Fatalf("server cost %+v", s)
	}
	// The receivers read each forwarded packet once (SRTP's replay check refuses a second copy), plus the
	// retransmissions that filled holes, which the server counts apart. The window closes exactly (media
	// stops and drains before both ends are read) and opens by reading the server, then the receivers:
	//   - what the server forwarded in between it counts and they do not: its rate times that opening;
	//   - what it forwarded before but they read after, they count and it does not: at most its rate
	//     times the longest forwarding latency the receivers measured (a busy machine delays reading).
	// Both come from what the run measured, not from how fast this machine is; 1 % + 20 on top for
	// packets the latency sample missed.
	got, low, high := float64(r.Received.Packets), s.PacketsOut, s.PacketsOut+s.Retransmitted
	opening := s.PacketsOutPerS * s.OpeningSeconds
	backlog := s.PacketsOutPerS * r.LatencyMs.Max / 1000
	if slack := 0.01*s.PacketsOut + 20; got < low-opening-slack || got > high+backlog+slack {
		t.Errorf("receivers read %.0f packets in the window; the server forwarded %.0f (%.0f while the window opened over %.0f ms; up to %.0f in flight at %.0f ms latency) and retransmitted %.0f",
			got, low, opening, s.OpeningSeconds*1000, backlog, r.LatencyMs.Max, s.Retransmitted)
	}
	if len(r.Timeline) < 3 {
		t.Errorf("%d samples", len(r.Timeline))
	}
	if _, err := json.Marshal(r); err != nil {
		t.Errorf("json: %v", err)
	}
}

// TestClusterLoad drives two cluster nodes sharing a real redis-server: each room's participants
// alternate between the nodes, so whichever node owns a room, half of its participants are relayed to
// it. Everyone joins, every track arrives, and the nodes' summed counters agree with what the receivers
// read. (Which node owns which room is placement's choice by load; in one test process both nodes read
// the same CPU, so the per-node CPU figures are not asserted.)
func TestClusterLoad(t *testing.T) {
	srv := redistest.Start(t)
	nodes := []*node.Node{
		nodetest.Start(t, func(c *node.Config) { c.Cluster = node.ClusterConfig{RedisURL: srv.URL(), NodeID: "load-a"} }),
		nodetest.Start(t, func(c *node.Config) { c.Cluster = node.ClusterConfig{RedisURL: srv.URL(), NodeID: "load-b"} }),
	}
	o := loadtest.Options{URL: wsURL(nodes[0]) + "," + wsURL(nodes[1]), Rooms: 2, Publishers: 2, Subscribers: 2, Simulcast: true,
		JoinRate: 20, Duration: 3 * time.Second, Seed: 3, Logger: testLogger(t)}
	rep, text := runAndLog(t, o)
	checkReport(t, rep)
	if len(rep.Server.Nodes) != 2 {
		t.Fatalf("server cost of %d nodes, want 2: %+v", len(rep.Server.Nodes), rep.Server)
	}
	var participants, packets float64
	for _, n := range rep.Server.Nodes {
		participants += n.Participants
		packets += n.PacketsOut
	}
	if participants != 8 || packets != rep.Server.PacketsOut {
		t.Errorf("nodes hold %.0f participants with media (want 8) and forwarded %.0f packets (the sum says %.0f)", participants, packets, rep.Server.PacketsOut)
	}
	if !strings.Contains(text, "  node http://") {
		t.Error("the text report has no per-node lines")
	}
}

// TestUnreachableServer: nobody joins, every participant is a failure, and the run still reports.
func TestUnreachableServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	o := loadtest.Options{URL: "ws://" + addr + "/ws", Rooms: 1, Publishers: 1, Subscribers: 2, JoinRate: 50, Duration: time.Second}
	start := time.Now()
	rep, err := loadtest.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Participants.Failed != 3 || rep.Participants.Joined != 0 || rep.Server.Scraped || rep.Server.Error == "" {
		t.Errorf("participants %+v, server %+v", rep.Participants, rep.Server)
	}
	if failures := rep.Check(loadtest.Thresholds{MaxLoss: 0.01}); len(failures) == 0 {
		t.Error("the run passed its thresholds")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %v", took)
	}
	if _, err := loadtest.Run(context.Background(), loadtest.Options{URL: o.URL}); err == nil {
		t.Error("no error for options without participants")
	}
}

// TestInterrupted: cancelling the context ends the run early, with a report of what was measured.
func TestInterrupted(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancel a second into the minute's measurement window (however long the joins took to get there).
	var mu sync.Mutex
	var measuring time.Time
	o := loadtest.Options{URL: wsURL(n), Rooms: 1, Publishers: 1, Subscribers: 1, Simulcast: true, JoinRate: 20, Duration: time.Minute,
		OnMeasure: func(time.Duration) {
			mu.Lock()
			measuring = time.Now()
			mu.Unlock()
			time.AfterFunc(time.Second, cancel)
		}}
	rep, err := loadtest.Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	window := time.Since(measuring)
	mu.Unlock()
	// The report measured only until the cancel, and Run returned well before the minute was up.
	if !rep.Interrupted || rep.MeasuredSeconds > window.Seconds()+0.1 || window > o.Duration/2 {
		t.Errorf("interrupted %v, measured %.1f s, %v between the window's start and Run's return", rep.Interrupted, rep.MeasuredSeconds, window)
	}
	if rep.Participants.Joined != 2 || rep.Tracks.Received != rep.Tracks.Expected {
		t.Errorf("participants %+v, tracks %+v", rep.Participants, rep.Tracks)
	}
}

// TestReplayFiles: a publisher replays an IVF camera and an Ogg microphone; the receivers get both, as
// one video layer, with no latency figures (real media carries no send stamps).
func TestReplayFiles(t *testing.T) {
	dir := t.TempDir()
	ivf, ogg := filepath.Join(dir, "cam.ivf"), filepath.Join(dir, "mic.ogg")
	if err := os.WriteFile(ivf, ivfClip(60, 30), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := oggwriter.New(ogg, 48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * 960)}, Payload: append([]byte{0xfc}, make([]byte, 80)...)}
		if err := w.WriteRTP(pkt); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	n := startNode(t)
	o := loadtest.Options{URL: wsURL(n), Rooms: 1, Publishers: 1, Subscribers: 2, JoinRate: 20, Duration: 2 * time.Second,
		VideoFile: ivf, AudioFile: ogg, Logger: testLogger(t)}
	rep, err := loadtest.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	checkTracks := rep.Tracks.Expected == 4 && rep.Tracks.Received == 4
	if !checkTracks || rep.Loss.Rate > 0.01 || rep.Layers["single"] != 2 || rep.LatencyMs.N != 0 {
		t.Errorf("tracks %+v, loss %+v, layers %v, latency %+v", rep.Tracks, rep.Loss, rep.Layers, rep.LatencyMs)
	}
	if rep.FirstKeyframeMs.N != 2 {
		t.Errorf("first keyframe for %d video tracks, want 2", rep.FirstKeyframeMs.N)
	}
	o.VideoFile = ogg
	if _, err := loadtest.Run(context.Background(), o); err == nil {
		t.Error("no error for an Ogg file as the camera")
	}
}

// ivfClip is an IVF file of n VP8 frames at fps, a keyframe every 30 frames; the frames are not real
// VP8 (the server does not decode) but carry the frame tag's keyframe bit.
func ivfClip(n, fps int) []byte {
	var b bytes.Buffer
	hdr := make([]byte, 32)
	copy(hdr, "DKIF")
	binary.LittleEndian.PutUint16(hdr[6:], 32)
	copy(hdr[8:], "VP80")
	binary.LittleEndian.PutUint16(hdr[12:], 640)
	binary.LittleEndian.PutUint16(hdr[14:], 360)
	binary.LittleEndian.PutUint32(hdr[16:], uint32(fps))
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	binary.LittleEndian.PutUint32(hdr[24:], uint32(n))
	b.Write(hdr)
	for i := range n {
		size, tag := 2500, byte(0x11)
		if i%30 == 0 {
			size, tag = 12000, 0x10
		}
		fh := make([]byte, 12)
		binary.LittleEndian.PutUint32(fh, uint32(size))
		binary.LittleEndian.PutUint64(fh[4:], uint64(i))
		b.Write(fh)
		frame := bytes.Repeat([]byte{0x42}, size)
		frame[0] = tag
		b.Write(frame)
	}
	return b.Bytes()
}
