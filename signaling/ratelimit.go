package signaling

import (
	"time"

	"golang.org/x/time/rate"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// Per-session message budgets (PROTOCOL.md "Limits"). Every client message is charged to one class's
// token bucket before it is handled; an empty bucket answers `rate_limited` and the message is dropped
// unhandled, so a flood costs the server a decode and a small reply, and nobody else anything. A
// session that keeps at it (Limits.MaxStrikes refusals within Limits.StrikeWindow) is closed with
// `rate_limited`. The buckets belong to the session's reader goroutine: no locking.

// msgClass is a budget.
type msgClass uint8

const (
	classOther msgClass = iota
	classNegotiation
	classSettings
	classICE
	classModeration
	classHands
	classChat
	classChecks
	numClasses
)

var classNames = [numClasses]string{"other", "negotiation", "settings", "ice", "moderation", "hands", "chat", "checks"}

// classOf is the budget a message type is charged to.
func classOf(typ string) msgClass {
	switch typ {
	case protocol.TypePublishOffer, protocol.TypeSubscribeAnswer, protocol.TypeMute, protocol.TypeUnpublish:
		return classNegotiation
	case protocol.TypeTrackSettings:
		return classSettings
	case protocol.TypeICECandidate:
		return classICE
	case protocol.TypeRemoveParticipant, protocol.TypeMuteParticipant, protocol.TypeLowerHand, protocol.TypeSetGrants,
		protocol.TypeMuteAll, protocol.TypeSpotlight, protocol.TypeRoomSettings, protocol.TypeAdmit, protocol.TypeDecline,
		protocol.TypeEndRoom, protocol.TypeCreateInvite, protocol.TypeStartRecording, protocol.TypeStopRecording:
		return classModeration
	case protocol.TypeRaiseHand, protocol.TypeRecordingConsent:
		return classHands
	case protocol.TypeChat:
		return classChat
	case protocol.TypePreflight, protocol.TypeCheckOffer:
		return classChecks
	}
	return classOther
}

// sessionLimits is one session's buckets and its recent refusals.
type sessionLimits struct {
	buckets      [numClasses]*rate.Limiter
	rates        [numClasses]Rate
	maxStrikes   int
	strikeWindow time.Duration
	strikes      []time.Time // refusals within the window, oldest first (at most maxStrikes kept)
}

func newSessionLimits(l Limits) *sessionLimits {
	sl := &sessionLimits{maxStrikes: l.MaxStrikes, strikeWindow: l.StrikeWindow}
	sl.rates = [numClasses]Rate{classOther: l.Other, classNegotiation: l.Negotiation, classSettings: l.Settings,
		classICE: l.ICE, classModeration: l.Moderation, classHands: l.Hands, classChat: l.Chat, classChecks: l.Checks}
	for c, r := range sl.rates {
		sl.buckets[c] = rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst)
	}
	return sl
}

// verdict of one message.
type limitVerdict uint8

const (
	allowed limitVerdict = iota
	refused              // answer rate_limited, drop the message
	tooMany              // close the session
)

// charge takes one token of typ's class at now.
func (sl *sessionLimits) charge(typ string, now time.Time) (msgClass, limitVerdict) {
	c := classOf(typ)
	if sl.buckets[c].AllowN(now, 1) {
		return c, allowed
	}
	cut := now.Add(-sl.strikeWindow)
	i := 0
	for i < len(sl.strikes) && sl.strikes[i].Before(cut) {
		i++
	}
	sl.strikes = append(sl.strikes[i:], now)
	if len(sl.strikes) >= sl.maxStrikes {
		return c, tooMany
	}
	return c, refused
}

// refusal is the error of a refused message.
func (sl *sessionLimits) refusal(c msgClass, typ string) *protocol.Error {
	r := sl.rates[c]
	return protocol.Errorf(protocol.CodeRateLimited, "%s: too many %s messages; at most %d at once, then %g a second",
		typ, classNames[c], r.Burst, r.PerSecond)
}
