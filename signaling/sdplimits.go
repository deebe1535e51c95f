package signaling

import (
	"strings"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// SDP bounds (PROTOCOL.md "Limits"): before an SDP is parsed, a cheap scan refuses one that no browser
// would send — too many m-lines, a line too long, more ICE candidates than a session needs — with
// `invalid_sdp` and the reason, so that the parser and the media plane never spend time on it.

// checkSDPBounds scans sdp; what names the message in the reason. maxMLines 0: no cap on m-lines (a
// subscribe answer has one per track the server offered). It returns the candidates the SDP carries.
func checkSDPBounds(what, sdp string, maxMLines, maxLine int) (int, *protocol.Error) {
	mlines, candidates := 0, 0
	for n := 1; sdp != ""; n++ {
		line := sdp
		if i := strings.IndexByte(sdp, '\n'); i >= 0 {
			line, sdp = sdp[:i], sdp[i+1:]
		} else {
			sdp = ""
		}
		if len(line) > maxLine {
			return 0, protocol.Errorf(protocol.CodeInvalidSDP, "%s: line %d is %d bytes, over the limit of %d", what, n, len(line), maxLine)
		}
		switch {
		case strings.HasPrefix(line, "m="):
			mlines++
			if maxMLines > 0 && mlines > maxMLines {
				return 0, protocol.Errorf(protocol.CodeInvalidSDP, "%s: more than %d m-lines", what, maxMLines)
			}
		case strings.HasPrefix(line, "a=candidate:"):
			candidates++
		}
	}
	return candidates, nil
}

// countCandidates charges n candidates (in an SDP or trickled) to the session; refused past
// Limits.MaxCandidates. The reader owns the count.
func (s *Session) countCandidates(n int) *protocol.Error {
	limit := s.srv.cfg.Limits.MaxCandidates
	if s.candidates+n > limit {
		return protocol.Errorf(protocol.CodeInvalidSDP, "too many ICE candidates: at most %d per session", limit)
	}
	s.candidates += n
	return nil
}
