package web_test

// The simulcast layers the client declares for cameras other than the
// default 720p one.

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// smallCameraJS makes every camera request ask for exactly 480x270, as a
// low-end webcam would deliver.
const smallCameraJS = `(() => {
  const md = navigator.mediaDevices;
  if (!md) return; // about:blank
  const gum = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => gum(c && c.video ? {...c, video: {width: {exact: 480}, height: {exact: 270}}} : c);
})();`

// TestBrowserSimulcastCameraSizes checks the layers the client declares for
// other cameras: ?camera=1080 asks for 1920x1080 and sends its top layer at
// 2.5 Mbps; a 480x270 camera sends two layers (a quarter would be 120x67).
func TestBrowserSimulcastCameraSizes(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "")
	for _, tc := range []struct {
		name, query, script, want string
	}{
		{"full-hd", "&camera=1080", "", "q 480x270 150000, h 960x540 500000, f 1920x1080 2500000"},
		{"small", "", smallCameraJS, "h 240x135 500000, f 480x270 1700000"},
	} {
		tb := openTab(t, browser, tc.name)
		installScript(t, tb, wireTapJS+tc.script)
		if err := tb.Navigate(joinURL(n.URL(), "camera-sizes", tc.name)+tc.query, 15*time.Second); err != nil {
			t.Fatal(err)
		}
		offers, err := waitJS(tb.Ctx, 15*time.Second, 100*time.Millisecond, `window.__wire ? window.__wire.sent('publish_offer') : []`,
			func(v []wireMsg) bool { return len(v) > 0 })
		if err != nil {
			t.Fatalf("%s: no publish_offer: %v", tc.name, err)
		}
		var offer publishOffer
		if err := json.Unmarshal(offers[0].Data, &offer); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tr := range offer.Tracks {
			if tr.Source != "camera" {
				continue
			}
			for _, l := range tr.Layers {
				got = append(got, fmt.Sprintf("%s %dx%d %d", l.RID, l.Width, l.Height, l.MaxBitrate))
			}
		}
		if g := strings.Join(got, ", "); g != tc.want {
			t.Errorf("%s: camera layers %q, want %q", tc.name, g, tc.want)
		} else {
			t.Logf("%s camera: declares %s", tc.name, g)
		}
		if tc.query != "" {
			if q, _ := evalJS[string](tb.Ctx, `document.getElementById('camera-quality').value`); q != "1080" {
				t.Errorf("%s: camera quality select = %q, want 1080 from ?camera=1080", tc.name, q)
			}
		}
		// One encoder at a time on this machine.
		if _, err := evalJS[bool](tb.Ctx, `(document.getElementById('leave').click(), true)`); err != nil {
			t.Fatal(err)
		}
		if err := tb.Navigate("about:blank", 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
}
