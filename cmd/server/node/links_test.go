package node_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/cmd/server/node"
	"github.com/huddlehq/huddle/signaling/admin"
	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// TestJoinLinks: a consultation by links from the admin API. The links point at http.public_url with
// the token in the fragment; the patient's link (which asks for a consultation) puts the patient in
// the lobby as an attendee, the clinician's joins at once as host and lets the patient in.
func TestJoinLinks(t *testing.T) {
	n := startKeyedNode(t, func(cfg *node.Config) { cfg.HTTP.PublicURL = "https://meet.example.org" })
	api := adminClient(t, n)
	consultation := &auth.Policy{Mode: auth.ModeConsultation, MaxParticipants: 2}
	patientLink, err := api.CreateLink(ctx5(t), "consult-42", admin.LinkRequest{Identity: "patient-7", Name: "Pat",
		Role: "attendee", TTLSeconds: 1800, Policy: consultation})
	if err != nil {
		t.Fatal(err)
	}
	if patientLink.URL != "https://meet.example.org/#room=consult-42&token="+patientLink.Token {
		t.Fatalf("patient link %s", patientLink.URL)
	}
	if d := time.Until(patientLink.ExpiresAt); d < 29*time.Minute || d > 31*time.Minute {
		t.Fatalf("link expires in %s", d)
	}
	doctorLink, err := api.CreateLink(ctx5(t), "consult-42", admin.LinkRequest{Identity: "dr-ada", Name: "Dr Ada", Role: "host", Policy: consultation})
	if err != nil {
		t.Fatal(err)
	}
	tokenOf := func(link string) string {
		_, tok, ok := strings.Cut(link, "&token=")
		if !ok {
			t.Fatalf("no token in %s", link)
		}
		return tok
	}

	// The patient comes first and waits, named by the token.
	patient, adm := joinWaiting(t, n, "consult-42", "", tokenOf(patientLink.URL))
	if adm.Lobby == nil {
		t.Fatalf("patient by link did not wait: %+v", adm)
	}
	doctor, dj := mustJoinToken(t, n, "consult-42", "", tokenOf(doctorLink.URL))
	if dj.Role != "host" || dj.Identity != "dr-ada" || !dj.Grants.Moderate || !dj.Policy.Lobby || dj.Policy.MaxParticipants != 2 || len(dj.Participants) != 0 {
		t.Fatalf("doctor by link: %+v", dj)
	}
	ws := doctor.waitLobby(func(ws []protocol.Waiter) bool { return waiting(ws, "patient-7") != "" })
	if ws[0].Name != "Pat" {
		t.Fatalf("waiter %+v", ws[0])
	}
	if err := doctor.c.Admit(ctx5(t), ws[0].ParticipantID); err != nil {
		t.Fatal(err)
	}
	pj, err := adm.Wait(ctx5(t))
	if err != nil {
		t.Fatal(err)
	}
	if pj.Role != "attendee" || pj.Identity != "patient-7" || pj.Grants.Moderate || len(pj.Participants) != 1 || pj.Participants[0].Name != "Dr Ada" {
		t.Fatalf("patient by link joined: %+v", pj)
	}
	ids := doctor.publish()
	eventually(t, 15*time.Second, "the patient receiving the doctor", func() bool { return patient.packets(ids[1]) > 0 })

	// Links are the admin's to make: a room-scoped admin cannot make one for another room.
	scoped := &admin.Client{BaseURL: n.URL(), Token: mint(t, n, "consult-42", "clinic-ops", auth.RoleHost,
		func(c *auth.Claims) { c.Grants = &auth.Grants{Admin: true} })}
	if _, err := scoped.CreateLink(ctx5(t), "consult-43", admin.LinkRequest{Identity: "x"}); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("link for another room: %v", err)
	}
}

// TestInviteFromTheCall: a host's create_invite works on every kind of node — in dev mode (signed with
// the key the node made up at start), over HTTPS (also when HTTPS shares its port with TURN, where the
// request carries no TLS state of its own) and on http.public_url — and the invitee gets in with it.
func TestInviteFromTheCall(t *testing.T) {
	tests := []struct {
		name   string
		start  func(t *testing.T) *node.Node
		keyed  bool   // the host needs a token
		base   string // "": the node's own URL
		scheme string
	}{
		{name: "dev mode", start: startNode, scheme: "http://"},
		{name: "https", start: func(t *testing.T) *node.Node { return startTLSNode(t, nil) }, scheme: "https://"},
		{name: "https sharing its port with TURN", start: func(t *testing.T) *node.Node {
			port := freeTCPPort(t)
			return startTLSNode(t, func(cfg *node.Config) { cfg.HTTP.Addr, cfg.TURN.TLSPort = fmt.Sprintf("127.0.0.1:%d", port), port })
		}, scheme: "https://"},
		{name: "public url", start: func(t *testing.T) *node.Node {
			return startKeyedNode(t, func(cfg *node.Config) { cfg.HTTP.PublicURL = "https://meet.example.org" })
		}, keyed: true, base: "https://meet.example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.start(t)
			base := tt.base
			if base == "" {
				base = n.URL()
				if !strings.HasPrefix(base, tt.scheme) {
					t.Fatalf("node URL %s is not %s", base, tt.scheme)
				}
			}
			var host *peer
			if tt.keyed {
				host, _ = mustJoinToken(t, n, "consult-9", "", mint(t, n, "consult-9", "dr-ada", auth.RoleHost, roomPolicy(auth.Policy{Mode: auth.ModeConsultation})))
			} else {
				host = join(t, n, "consult-9", "Dr Ada", false) // dev mode trusts this machine's tokenless join as a host
			}
			inv, err := host.c.CreateInvite(ctx5(t), protocol.CreateInvite{Role: "attendee", Name: "Pat"})
			if err != nil {
				t.Fatal(err)
			}
			prefix := base + "/#room=consult-9&token="
			if !strings.HasPrefix(inv.URL, prefix) || inv.Role != "attendee" {
				link, _, _ := strings.Cut(inv.URL, "token=") // a test's output is a log too: no tokens
				t.Fatalf("invite of role %s to %s..., want a link starting %s", inv.Role, link, prefix)
			}
			token := strings.TrimPrefix(inv.URL, prefix)
			claims, err := n.Keys().Verify(token)
			if err != nil || claims.Room != "consult-9" || claims.Name != "Pat" || !strings.HasPrefix(claims.Subject, "guest-") {
				t.Fatalf("invitation token: %+v %v", claims, err)
			}
			_, adm := joinWaiting(t, n, "consult-9", "", token)
			if tt.keyed != (adm.Lobby != nil) { // the dev room has no policy, so no lobby
				t.Fatalf("invitee by link: lobby %+v", adm.Lobby)
			}
		})
	}
}
