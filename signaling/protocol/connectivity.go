package protocol

import "fmt"

// Connectivity check (PROTOCOL.md "Connectivity check"): before joining, a client asks for the ICE
// servers it would get (preflight) and tests each path to the node with a throwaway PeerConnection
// (check_offer), so the pre-join screen can say which of UDP, TCP and the TURN relay work.
const (
	TypePreflight     = "preflight"      // client → server; reply TypePreflightInfo
	TypePreflightInfo = "preflight_info" // server → client
	TypeCheckOffer    = "check_offer"    // client → server; reply TypeCheckAnswer
	TypeCheckAnswer   = "check_answer"   // server → client
)

// Paths a connectivity check can test.
const (
	PathUDP   = "udp"   // straight to the media UDP port
	PathTCP   = "tcp"   // straight to the ICE/TCP port
	PathRelay = "relay" // through a TURN server of iceServers (the client forces relay candidates)
)

// Preflight is the data of TypePreflight: the room and token the client means to join with, which are
// checked as `join` checks them (the client does not join).
type Preflight struct {
	Room  string `json:"room"`
	Token string `json:"token,omitempty"`
}

// PreflightInfo is the data of TypePreflightInfo.
type PreflightInfo struct {
	ICEServers []ICEServer `json:"iceServers"` // what `joined` will carry: TURN with credentials of this session
	Paths      []string    `json:"paths"`      // the paths this node offers checks of
	LifetimeMs int         `json:"lifetimeMs"` // a check's PeerConnection is closed by the server after this
}

// CheckOffer is the data of TypeCheckOffer: a complete offer (gathering finished, no trickle) with one
// data channel. Its answer carries only the candidates of Path.
type CheckOffer struct {
	Path string `json:"path"`
	SDP  string `json:"sdp"`
}

// CheckAnswer is the data of TypeCheckAnswer.
type CheckAnswer struct {
	Path string `json:"path"`
	SDP  string `json:"sdp"`
}

// Validate checks a preflight request.
func (p *Preflight) Validate() error {
	if err := ValidateRoomName(p.Room); err != nil {
		return err
	}
	if len(p.Token) > MaxTokenLength {
		return fmt.Errorf("token is longer than %d bytes", MaxTokenLength)
	}
	return nil
}

// Validate checks a check offer.
func (c *CheckOffer) Validate() error {
	switch c.Path {
	case PathUDP, PathTCP, PathRelay:
	default:
		return fmt.Errorf("path %q is not udp, tcp or relay", c.Path)
	}
	if c.SDP == "" {
		return fmt.Errorf("sdp is missing")
	}
	return nil
}
