package client

import (
	"fmt"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/signaling/protocol"
)

// simulcastLayer wraps the caller's track of one simulcast encoding so that every packet it writes carries
// the mid and rid header extensions. Browsers send them; pion does not add them for a sender's encodings,
// and a receiver cannot tell simulcast streams apart without them (their SSRCs are not bound to rids in
// the SDP).
type simulcastLayer struct {
	webrtc.TrackLocal
	spec protocol.Layer
	ssrc uint32       // this encoding's SSRC, set before any RTCP is read
	mid  atomic.Value // string, set after CreateOffer; read at Bind
}

// Bind hands the wrapped track a context whose writer stamps the extensions, when both were negotiated.
func (l *simulcastLayer) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	mid, _ := l.mid.Load().(string)
	var midID, ridID uint8
	for _, ext := range ctx.HeaderExtensions() {
		switch ext.URI {
		case MidURI:
			midID = uint8(ext.ID)
		case RIDURI:
			ridID = uint8(ext.ID)
		}
	}
	if mid == "" || midID == 0 || ridID == 0 {
		return l.TrackLocal.Bind(ctx)
	}
	w := &stampWriter{next: ctx.WriteStream(), midID: midID, ridID: ridID, mid: []byte(mid), rid: []byte(l.RID())}
	return l.TrackLocal.Bind(&stampContext{TrackLocalContext: ctx, w: w})
}

// Unbind passes the original context on: tracks match bindings by the context's ID, which is the same.
func (l *simulcastLayer) Unbind(ctx webrtc.TrackLocalContext) error { return l.TrackLocal.Unbind(ctx) }

type stampContext struct {
	webrtc.TrackLocalContext
	w webrtc.TrackLocalWriter
}

func (c *stampContext) WriteStream() webrtc.TrackLocalWriter { return c.w }

// stampWriter adds the mid and rid extensions to each packet on its way to the interceptors. It is
// immutable, so concurrent writers of one track are fine.
type stampWriter struct {
	next         webrtc.TrackLocalWriter
	midID, ridID uint8
	mid, rid     []byte
}

func (w *stampWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	// A copy: the caller's header is reused for its next packet and may be written to other bindings.
	hdr := *h
	hdr.Extensions = append(make([]rtp.Extension, 0, len(h.Extensions)+2), h.Extensions...)
	if !hdr.Extension {
		hdr.Extension, hdr.ExtensionProfile = true, rtp.ExtensionProfileOneByte
		if w.midID > 14 || w.ridID > 14 || len(w.mid) > 16 || len(w.rid) > 16 { // beyond RFC 8285's one-byte form
			hdr.ExtensionProfile = rtp.ExtensionProfileTwoByte
		}
	}
	if err := hdr.SetExtension(w.midID, w.mid); err != nil {
		return 0, fmt.Errorf("client: mid extension: %w", err)
	}
	if err := hdr.SetExtension(w.ridID, w.rid); err != nil {
		return 0, fmt.Errorf("client: rid extension: %w", err)
	}
	return w.next.WriteRTP(&hdr, payload)
}

func (w *stampWriter) Write(b []byte) (int, error) {
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil {
		return 0, fmt.Errorf("client: stamp: %w", err)
	}
	return w.WriteRTP(&p.Header, p.Payload)
}
