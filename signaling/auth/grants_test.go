package auth

import (
	"slices"
	"testing"
)

func TestDefaultGrants(t *testing.T) {
	cases := []struct {
		role                               Role
		mode                               string
		publish                            []string
		subscribe, chat, moderate, visible bool
	}{
		{RoleHost, ModeClassroom, allSources, true, true, true, true},
		{RolePresenter, "", allSources, true, true, false, true},
		{RoleAttendee, ModeConsultation, []string{SourceCamera, SourceMicrophone}, true, true, false, true},
		{RoleAttendee, ModeConference, []string{SourceCamera, SourceMicrophone}, true, true, false, true},
		{RoleAttendee, ModeClassroom, nil, true, true, false, true},
		{RoleObserver, ModeConference, nil, true, false, false, false},
	}
	for _, tc := range cases {
		g := Effective(tc.role, nil, tc.mode)
		if !slices.Equal(g.Publish, tc.publish) || g.Subscribe != tc.subscribe || g.Chat != tc.chat ||
			g.Moderate != tc.moderate || g.Admin || tc.role.Hidden() == tc.visible {
			t.Errorf("%s in %q: got %s", tc.role, tc.mode, g)
		}
	}
	// Explicit grants replace the defaults, except that an observer never publishes.
	explicit := &Grants{Publish: []string{SourceMicrophone}}
	if g := Effective(RoleAttendee, explicit, ModeClassroom); !g.CanPublish(SourceMicrophone) || g.Subscribe {
		t.Errorf("explicit grants: %s", g)
	}
	if g := Effective(RoleObserver, explicit, ""); len(g.Publish) != 0 {
		t.Errorf("observer publishes: %s", g)
	}
}

func TestCanPublish(t *testing.T) {
	g := Grants{Publish: []string{SourceScreen, SourceMicrophone}}
	for src, want := range map[string]bool{SourceScreen: true, SourceScreenAudio: true, SourceMicrophone: true, SourceCamera: false, "": false} {
		if g.CanPublish(src) != want {
			t.Errorf("CanPublish(%q) = %v", src, !want)
		}
	}
	if (Grants{Publish: []string{"camera", "camera"}}).Validate() == nil {
		t.Error("duplicate source accepted")
	}
	if (Policy{MaxParticipants: -1}).Validate() == nil || (Policy{Mode: "party"}).Validate() == nil {
		t.Error("bad policy accepted")
	}
	if r, err := ParseRole(""); err != nil || r != RoleAttendee {
		t.Errorf("empty role: %v %v", r, err)
	}
}

// TestLobbyOn: a consultation waits joiners unless the policy opts out; other modes wait only when asked.
func TestLobbyOn(t *testing.T) {
	cases := []struct {
		policy Policy
		want   bool
	}{
		{Policy{}, false},
		{Policy{Lobby: true}, true},
		{Policy{Mode: ModeConsultation}, true},
		{Policy{Mode: ModeConsultation, NoLobby: true}, false},
		{Policy{Mode: ModeClassroom}, false},
		{Policy{Mode: ModeConference, Lobby: true}, true},
	}
	for _, tc := range cases {
		if got := tc.policy.LobbyOn(); got != tc.want {
			t.Errorf("%+v: LobbyOn %v, want %v", tc.policy, got, tc.want)
		}
	}
	if (Policy{Lobby: true, NoLobby: true}).Validate() == nil {
		t.Error("lobby and noLobby together accepted")
	}
}
