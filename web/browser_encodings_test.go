package web_test

// What the simulcast publisher encodes and declares, and how its encodings
// follow the server's dynacast (TestBrowserSimulcastPublish's checks), and
// how the test tells a browser that holds its top layer back by itself from
// a client that does not send it.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// heldBackByBrowser polls, for up to 10 s, the publisher's encodings and Chrome's estimate of its send
// bandwidth, and returns the first sample in which Chrome itself explains why f is not sent at 720p:
//   - "bandwidth": q and h encode at their sizes, f is active but held back, and the estimate lies
//     between what q and h may send and what all three may (the server's congestion feedback works,
//     the estimate just has not ramped far enough for f);
//   - "cpu": Chrome's encoder scaled f below 720p for want of CPU, and the layers it sends still
//     grow from q to f.
func heldBackByBrowser(c *simulcastCall, encoding func([]localEncoding) map[string]bool) ([]localEncoding, error) {
	var encs []localEncoding
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		encs, err = browserExplainsTop(c, encoding)
		if err == nil || time.Now().After(deadline) {
			return encs, err
		}
	}
}

func browserExplainsTop(c *simulcastCall, encoding func([]localEncoding) map[string]bool) ([]localEncoding, error) {
	encs, err := evalJS[[]localEncoding](c.pub.Ctx, localVideoStatsJS)
	if err != nil {
		return nil, err
	}
	estimate, err := evalJS[*float64](c.pub.Ctx, `window.huddle.sendBandwidth()`)
	if err != nil {
		return encs, err
	}
	ok := encoding(encs)
	q, h, f := findEncoding(encs, "q"), findEncoding(encs, "h"), findEncoding(encs, "f")
	var lower, need int64
	for _, e := range encs {
		if e.Source == "camera" {
			need += e.MaxBitrate
			if e.RID != "f" {
				lower += e.MaxBitrate
			}
		}
	}
	switch {
	case q == nil || h == nil || f == nil || !f.Active:
		return encs, errors.New("the camera does not have three active encodings")
	case f.Limitation == "cpu":
		if f.FrameWidth >= 1200 || q.FPS == 0 || q.FrameWidth >= h.FrameWidth || (f.FrameWidth > 0 && h.FrameWidth > f.FrameWidth) {
			return encs, errors.New("f is limited by CPU, but the layers sent do not grow from q to f")
		}
		return encs, nil
	case !ok["q"] || !ok["h"]:
		return encs, errors.New("q and h are not both encoding at their sizes")
	case f.Limitation != "bandwidth":
		return encs, errors.New("f is not encoding at 720p, and Chrome does not say it lacks bandwidth or CPU")
	case estimate == nil:
		return encs, errors.New("f is held back and Chrome has no bandwidth estimate")
	case *estimate >= float64(need):
		return encs, fmt.Errorf("f is held back although Chrome estimates %.0f bit/s, enough for the layers' %d", *estimate, need)
	case *estimate < float64(lower):
		return encs, fmt.Errorf("Chrome estimates %.0f bit/s, less than q and h may send (%d): is the server's congestion feedback reaching it?", *estimate, lower)
	}
	return encs, nil
}

func findEncoding(encs []localEncoding, rid string) *localEncoding {
	for i := range encs {
		if encs[i].RID == rid && encs[i].Source == "camera" {
			return &encs[i]
		}
	}
	return nil
}

func describeEncodings(encs []localEncoding) string {
	var parts []string
	for _, e := range encs {
		parts = append(parts, fmt.Sprintf("%s %dx%d %.0ffps frames=%d active=%v limit=%s", e.RID, e.FrameWidth, e.FrameHeight, e.FPS, e.FramesEncoded, e.Active, e.Limitation))
	}
	return strings.Join(parts, "; ")
}

// checkDeclaredLayers: the publish_offer named the camera's layers, lowest
// first, with sizes and bitrates, and the SDP offers the rids in that order.
func checkDeclaredLayers(t *testing.T, c *simulcastCall) {
	t.Helper()
	offers, err := wireSent(c.pub, "publish_offer")
	if err != nil || len(offers) == 0 {
		t.Fatalf("publisher: no publish_offer recorded (err %v)", err)
	}
	var offer publishOffer
	if err := json.Unmarshal(offers[0].Data, &offer); err != nil {
		t.Fatalf("publish_offer data: %v", err)
	}
	wantLayers := "q 320x180 150000, h 640x360 500000, f 1280x720 1700000"
	var sources []string
	for _, tr := range offer.Tracks {
		sources = append(sources, tr.Source)
		var got []string
		for _, l := range tr.Layers {
			got = append(got, fmt.Sprintf("%s %dx%d %d", l.RID, l.Width, l.Height, l.MaxBitrate))
		}
		switch tr.Source {
		case "camera":
			if g := strings.Join(got, ", "); g != wantLayers {
				t.Errorf("publish_offer camera layers = %q, want %q", g, wantLayers)
			} else {
				t.Logf("publish_offer declares camera layers: %s", g)
			}
		case "microphone":
			if len(got) != 0 {
				t.Errorf("publish_offer microphone has layers %q, want none", got)
			}
		}
	}
	if strings.Join(sources, ",") != "microphone,camera" {
		t.Errorf("publish_offer sources = %q, want microphone then camera", sources)
	}
	if !strings.Contains(offer.SDP, "a=simulcast:send q;h;f") {
		t.Errorf("publish_offer SDP lacks \"a=simulcast:send q;h;f\"")
	}
}

// checkDynacast plays the server's publisher_layers: turning the top layer
// that encodes (f, or h while Chrome holds f back) off must make the sender
// stop encoding it, turning it back on must resume it.
func checkDynacast(t *testing.T, c *simulcastCall, top string) {
	t.Helper()
	layers := func(on bool) map[string]any {
		var list []map[string]any
		for _, rid := range []string{"q", "h", "f"} {
			list = append(list, map[string]any{"rid": rid, "active": rid != top || on})
		}
		return map[string]any{"trackId": c.camTrack, "layers": list}
	}
	wireInject(t, c.pub, "publisher_layers", layers(false))
	encs, err := waitJS(c.pub.Ctx, 5*time.Second, 100*time.Millisecond, localVideoStatsJS, func(v []localEncoding) bool {
		f := findEncoding(v, top)
		return f != nil && !f.Active
	})
	if err != nil {
		t.Fatalf("dynacast: after publisher_layers with %s inactive, want encoding %s inactive: %v (saw %s)", top, top, err, describeEncodings(encs))
	}
	time.Sleep(500 * time.Millisecond) // frames already in the encoder
	before, _ := evalJS[[]localEncoding](c.pub.Ctx, localVideoStatsJS)
	time.Sleep(1500 * time.Millisecond)
	after, _ := evalJS[[]localEncoding](c.pub.Ctx, localVideoStatsJS)
	fb, fa, qb, qa := findEncoding(before, top), findEncoding(after, top), findEncoding(before, "q"), findEncoding(after, "q")
	if fb == nil || fa == nil || fa.FramesEncoded > fb.FramesEncoded+1 {
		t.Errorf("dynacast: %s still encoded while inactive: %+v then %+v", top, fb, fa)
	}
	if qb == nil || qa == nil || qa.FramesEncoded <= qb.FramesEncoded {
		t.Errorf("dynacast: q stopped although still active: %+v then %+v", qb, qa)
	}
	t.Logf("dynacast off: %s frames %d -> %d in 1.5 s, q frames %d -> %d", top, fb.FramesEncoded, fa.FramesEncoded, qb.FramesEncoded, qa.FramesEncoded)

	wireInject(t, c.pub, "publisher_layers", layers(true))
	start := time.Now()
	var base int64 = -1
	encs, err = waitJS(c.pub.Ctx, 10*time.Second, 200*time.Millisecond, localVideoStatsJS, func(v []localEncoding) bool {
		f := findEncoding(v, top)
		if f == nil || !f.Active {
			return false
		}
		if base < 0 {
			base = f.FramesEncoded
			return false
		}
		return f.FramesEncoded > base
	})
	if err != nil {
		t.Fatalf("dynacast: after turning %s back on, want it encoding again: %v (saw %s)", top, err, describeEncodings(encs))
	}
	t.Logf("dynacast on: %s encoding again after %v: %s", top, time.Since(start).Round(time.Millisecond), describeEncodings(encs))
}
