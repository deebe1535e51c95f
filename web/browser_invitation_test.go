package web_test

// Invitation links that cannot work (issue 14 item 4): the person is told before pressing Join, in
// plain words naming who to ask, at the top of the card where a phone shows it without scrolling;
// Join cannot be pressed in vain and no camera is asked for. A link the server refuses (signed with
// another key) is told the same way after Join.

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/huddlehq/huddle/signaling/auth"
)

// invitationNotice is what the pre-join page shows about its link.
type invitationNotice struct {
	Shown      bool    `json:"shown"`
	Title      string  `json:"title"`
	Text       string  `json:"text"`
	Top        float64 `json:"top"`
	Bottom     float64 `json:"bottom"`
	Viewport   float64 `json:"viewport"`
	JoinOff    bool    `json:"joinOff"`
	Cameras    int     `json:"cameras"`
	State      string  `json:"state"`
	JoinScreen bool    `json:"joinScreen"`
}

const invitationNoticeJS = `(() => {
  const n = document.getElementById('join-notice'), r = n.getBoundingClientRect();
  return {
    shown: !n.hidden && r.height > 0,
    title: document.getElementById('join-notice-title').textContent,
    text: document.getElementById('join-notice-text').textContent,
    top: r.top, bottom: r.bottom, viewport: window.innerHeight,
    joinOff: document.getElementById('join-button').disabled,
    cameras: (document.getElementById('join-preview').srcObject?.getTracks() || []).length,
    state: window.huddle.state,
    joinScreen: !document.getElementById('join-screen').hidden,
  };
})()`

// TestBrowserInvitationProblems: expired, damaged and wrong-room links at a phone's size, in English
// and Chinese, and a forged one refused by the server.
func TestBrowserInvitationProblems(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "", withAPIKey)
	dir := artifactsDir(t)
	consultation := &auth.Policy{Mode: auth.ModeConsultation}
	mint := func(room string, exp time.Time) string {
		c := auth.Claims{Room: room, Name: "Pat", Role: auth.RoleAttendee, Policy: consultation,
			RegisteredClaims: jwt.RegisteredClaims{Subject: "pat", IssuedAt: jwt.NewNumericDate(exp.Add(-time.Hour)), ExpiresAt: jwt.NewNumericDate(exp)}}
		tok, err := n.Keys().Mint(c, 0)
		if err != nil {
			t.Fatalf("minting: %v", err)
		}
		return tok
	}
	expired := mint("clinic-4", time.Now().Add(-10*time.Minute))
	valid := mint("clinic-4", time.Now().Add(time.Hour))
	cases := []struct {
		name, link, wantTitle, wantText string
	}{
		{"expired", joinLinkURL(n.URL(), "clinic-4", expired), "This invitation has expired", "Ask your clinician for a new link."},
		{"expired-zh", joinLinkURL(n.URL()+"/?lang=zh-CN", "clinic-4", expired), "此邀请已过期", "请向您的医生索取新的链接。"},
		{"damaged", joinLinkURL(n.URL(), "clinic-4", valid[:len(valid)/3]), "This invitation link is incomplete", "the person who invited you"},
		{"wrong-room", joinLinkURL(n.URL(), "clinic-5", valid), "This invitation is for another room", "your clinician"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tb := openTab(t, browser, tc.name)
			if err := tb.Navigate(n.URL()+"/?lang=en", 10*time.Second); err != nil { // a page with the mobile viewport tag
				t.Fatal(err)
			}
			emulatePhone(t, tb, 390, 844)
			if err := tb.Navigate(tc.link, 15*time.Second); err != nil {
				t.Fatal(err)
			}
			got, err := waitJS(tb.Ctx, 10*time.Second, 100*time.Millisecond, `window.huddle ? `+invitationNoticeJS+` : {}`,
				func(v invitationNotice) bool { return v.Shown })
			if err != nil {
				t.Fatalf("no notice about the link before Join: %v (%+v)", err, got)
			}
			if got.Title != tc.wantTitle || !strings.Contains(got.Text, tc.wantText) {
				t.Errorf("notice says %q / %q, want %q / ...%q...", got.Title, got.Text, tc.wantTitle, tc.wantText)
			}
			if got.Top < 0 || got.Bottom > got.Viewport {
				t.Errorf("notice at %.0f-%.0f px is not in the 844 px phone viewport without scrolling", got.Top, got.Bottom)
			}
			if !got.JoinOff {
				t.Error("Join can still be pressed with a link that cannot work")
			}
			if got.Cameras != 0 {
				t.Errorf("%d camera/microphone tracks opened for a link that cannot work", got.Cameras)
			}
			if path, err := saveScreenshot(tb.Ctx, dir, "invitation-"+tc.name+"-phone-390x844"); err == nil {
				t.Logf("screenshot: %s", path)
			}
		})
	}

	// Signed with a key this server does not have: only the server can tell. After Join, the same kind
	// of notice at the top of the card, not a code under the form.
	t.Run("forged", func(t *testing.T) {
		other := auth.Key{ID: webTestKey.ID, Secret: strings.Repeat("x", 40)}
		keys, err := auth.NewKeyring(other)
		if err != nil {
			t.Fatal(err)
		}
		forged, err := keys.Mint(auth.Claims{Room: "clinic-4", Name: "Pat", Role: auth.RoleAttendee, Policy: consultation,
			RegisteredClaims: jwt.RegisteredClaims{Subject: "pat"}}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		tb := openTab(t, browser, "forged")
		joinThroughLink(t, tb, joinLinkURL(n.URL(), "clinic-4", forged), "Pat")
		got, err := waitJS(tb.Ctx, 15*time.Second, 100*time.Millisecond, invitationNoticeJS, func(v invitationNotice) bool { return v.Shown })
		if err != nil {
			t.Fatalf("no notice after the server refused the link: %v (%+v)", err, got)
		}
		if got.Title != "This invitation is not valid here" || !got.JoinScreen || !got.JoinOff {
			t.Errorf("after a refused link: %+v", got)
		}
		if path, err := saveScreenshot(tb.Ctx, dir, "invitation-forged-laptop"); err == nil {
			t.Logf("screenshot: %s", path)
		}
	})
}
