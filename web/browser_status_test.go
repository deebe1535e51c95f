package web_test

// The admins' status page (/admin/): without an admin token it asks for one and shows nothing; with one
// it lists the live call's room, its participants and what arrives of their media.

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/huddlehq/huddle/signaling/auth"
)

// statusView is what window.huddleStatus() says the page shows.
type statusView struct {
	View  string `json:"view"`
	Nodes []struct {
		ID           string `json:"id"`
		Participants int    `json:"participants"`
	} `json:"nodes"`
	Rooms []struct {
		Name   string `json:"name"`
		People []struct {
			Name   string `json:"name"`
			Tracks []struct {
				Source     string `json:"source"`
				BitrateBps int    `json:"bitrateBps"`
			} `json:"tracks"`
		} `json:"people"`
	} `json:"rooms"`
}

// TestBrowserStatusPage: a 3-party call runs; the status page first asks for the admin token (no data
// on the page), then, signed in, lists the room, the 3 participants and non-zero bitrates.
func TestBrowserStatusPage(t *testing.T) {
	browser := startBrowser(t)
	n := startNode(t, "", withAPIKey)
	dir := artifactsDir(t)
	const room = "site-meeting"
	names := []string{"Ada", "Ben", "Cy"}
	for _, name := range names {
		tb := openTab(t, browser, strings.ToLower(name))
		joinThroughLink(t, tb, joinLinkURL(n.URL(), room, n.mint(room, strings.ToLower(name), name, auth.RoleHost, nil)), name)
		waitState(t, tb, "joined", 20*time.Second)
	}

	admin := openTab(t, browser, "admin")
	if err := admin.Navigate(n.URL()+"/admin/", 15*time.Second); err != nil {
		t.Fatal(err)
	}
	v, err := waitJS(admin.Ctx, 10*time.Second, 100*time.Millisecond, `window.huddleStatus ? window.huddleStatus() : {}`,
		func(v statusView) bool { return v.View == "login" })
	if err != nil {
		t.Fatalf("without a token: want the login prompt: %v (%+v)", err, v)
	}
	text, _ := evalJS[string](admin.Ctx, `document.body.innerText`)
	if strings.Contains(text, room) || strings.Contains(text, "Ada") {
		t.Errorf("without a token the page shows call data:\n%s", text)
	}
	if p, err := saveScreenshot(admin.Ctx, dir, "status-login-1280x800"); err == nil {
		t.Logf("screenshot: %s", p)
	}

	claims := auth.Claims{Role: auth.RoleHost, Grants: &auth.Grants{Admin: true}, RegisteredClaims: jwt.RegisteredClaims{Subject: "ops"}}
	token, err := n.Keys().Mint(claims, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evalJS[bool](admin.Ctx, `(document.getElementById('status-token').value = `+jsString(token)+`,
	  document.getElementById('status-login').requestSubmit(), true)`); err != nil {
		t.Fatal(err)
	}
	v, err = waitJS(admin.Ctx, 20*time.Second, 250*time.Millisecond, `window.huddleStatus()`, func(v statusView) bool {
		if v.View != "data" || len(v.Rooms) != 1 || v.Rooms[0].Name != room || len(v.Rooms[0].People) != 3 {
			return false
		}
		for _, p := range v.Rooms[0].People {
			rate := 0
			for _, tr := range p.Tracks {
				if tr.Source == "camera" {
					rate = tr.BitrateBps
				}
			}
			if rate == 0 {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("signed in: want %s with 3 participants and a camera bitrate each: %v (%+v)", room, err, v)
	}
	if len(v.Nodes) != 1 || v.Nodes[0].Participants != 3 {
		t.Errorf("nodes %+v, want this node with 3 participants", v.Nodes)
	}
	text, _ = evalJS[string](admin.Ctx, `document.getElementById('status-data').innerText`)
	for _, want := range append([]string{room, "kbit/s"}, names...) {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q:\n%s", want, text)
		}
	}
	if p, err := saveScreenshot(admin.Ctx, dir, "status-call-1280x800"); err == nil {
		t.Logf("screenshot: %s", p)
	}
	emulatePhone(t, admin, 390, 844)
	if p, err := saveScreenshot(admin.Ctx, dir, "status-call-390x844"); err == nil {
		t.Logf("screenshot: %s", p)
	}
}
