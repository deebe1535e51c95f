package node_test

import (
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
