package signaling

import "time"

// Limits bound what one client, one address and the node as a whole may ask of the server
// (PROTOCOL.md "Limits"): every door has one, so that no client can make the server, or everyone else
// in a room, do work out of proportion to its own. Zero fields take the defaults of DefaultLimits.
type Limits struct {
	// Per-session message budgets (ratelimit.go), one token bucket per class of message.
	Negotiation Rate `yaml:"negotiation"` // publish_offer, subscribe_answer, mute, unpublish
	Settings    Rate `yaml:"settings"`    // track_settings (adaptive stream: one per tile when the layout changes)
	ICE         Rate `yaml:"ice"`         // ice_candidate
	Moderation  Rate `yaml:"moderation"`  // a moderator's and a host's requests
	Hands       Rate `yaml:"hands"`       // raise_hand, recording_consent: changes of the room's shared state
	Chat        Rate `yaml:"chat"`        // chat
	Checks      Rate `yaml:"checks"`      // preflight, check_offer (the pre-join connectivity check)
	Other       Rate `yaml:"other"`       // ping, join, anything else
	// A session refused this many times within StrikeWindow is closed with rate_limited.
	MaxStrikes   int           `yaml:"max_strikes"`
	StrikeWindow time.Duration `yaml:"strike_window"`

	// StateInterval: a room sends its room_state and lobby_update at most once per interval, carrying
	// the latest state, however many changes caused them (roomstate.go).
	StateInterval time.Duration `yaml:"state_interval"`

	// SDP bounds (sdplimits.go).
	MaxMLines         int `yaml:"max_m_lines"`         // m-lines of a publish offer
	MaxAttributeBytes int `yaml:"max_attribute_bytes"` // one SDP line
	MaxCandidates     int `yaml:"max_candidates"`      // trickled ICE candidates per session

	// Sockets (connlimit.go).
	MaxSocketsPerAddress int  `yaml:"max_sockets_per_address"` // open WebSockets from one IP address
	MaxSockets           int  `yaml:"max_sockets"`             // open WebSockets on this node
	JoinsPerAddress      Rate `yaml:"joins_per_address"`       // join and preflight messages from one IP address
}

// Rate is a token bucket: PerSecond refills, Burst holds.
type Rate struct {
	PerSecond float64 `yaml:"per_second"`
	Burst     int     `yaml:"burst"`
}

// DefaultLimits are generous for people and tight for scripts: a browser never comes near them.
func DefaultLimits() Limits {
	return Limits{
		Negotiation:          Rate{PerSecond: 5, Burst: 20},
		Settings:             Rate{PerSecond: 50, Burst: 300},
		ICE:                  Rate{PerSecond: 50, Burst: 200},
		Moderation:           Rate{PerSecond: 5, Burst: 20},
		Hands:                Rate{PerSecond: 2, Burst: 5},
		Chat:                 Rate{PerSecond: 2, Burst: 5},
		Checks:               Rate{PerSecond: 2, Burst: 30},
		Other:                Rate{PerSecond: 5, Burst: 20},
		MaxStrikes:           200,
		StrikeWindow:         10 * time.Second,
		StateInterval:        100 * time.Millisecond,
		MaxMLines:            16,
		MaxAttributeBytes:    4096,
		MaxCandidates:        200,
		MaxSocketsPerAddress: 500,
		MaxSockets:           20000,
		JoinsPerAddress:      Rate{PerSecond: 20, Burst: 100},
	}
}

// withDefaults fills the zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	rate := func(r *Rate, def Rate) {
		if r.PerSecond <= 0 {
			r.PerSecond = def.PerSecond
		}
		if r.Burst <= 0 {
			r.Burst = def.Burst
		}
	}
	rate(&l.Negotiation, d.Negotiation)
	rate(&l.Settings, d.Settings)
	rate(&l.ICE, d.ICE)
	rate(&l.Moderation, d.Moderation)
	rate(&l.Hands, d.Hands)
	rate(&l.Chat, d.Chat)
	rate(&l.Checks, d.Checks)
	rate(&l.Other, d.Other)
	rate(&l.JoinsPerAddress, d.JoinsPerAddress)
	for _, f := range []struct {
		v   *int
		def int
	}{{&l.MaxStrikes, d.MaxStrikes}, {&l.MaxMLines, d.MaxMLines}, {&l.MaxAttributeBytes, d.MaxAttributeBytes},
		{&l.MaxCandidates, d.MaxCandidates}, {&l.MaxSocketsPerAddress, d.MaxSocketsPerAddress}, {&l.MaxSockets, d.MaxSockets}} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	if l.StrikeWindow <= 0 {
		l.StrikeWindow = d.StrikeWindow
	}
	if l.StateInterval <= 0 {
		l.StateInterval = d.StateInterval
	}
	return l
}
