package sfu

import (
	"fmt"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Bandwidth estimate bounds for one subscriber's downlink, bits per second. The estimate starts high
// enough for a 720p layer plus audio on a good link and falls within a second or two where the link is
// worse; beyond what the link has carried it grows only through probes.
const (
	initialEstimate = 2_500_000
	minEstimate     = 50_000
	maxEstimate     = 30_000_000
)

// newMediaEngine registers the codecs we forward (with NACK, PLI and FIR feedback for video), the
// simulcast and audio-level header extensions, and transport-wide congestion control feedback.
func newMediaEngine() (*webrtc.MediaEngine, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("sfu: register codecs: %w", err)
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return nil, fmt.Errorf("sfu: simulcast header extensions: %w", err)
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("sfu: audio level header extension: %w", err)
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		me.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, kind)
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return nil, fmt.Errorf("sfu: transport-cc header extension: %w", err)
		}
	}
	return me, nil
}

// newPublishAPI builds PeerConnections that receive from publishers: NACKs for lost packets, receiver
// reports and transport-wide feedback (so the publisher's own congestion control works) go upstream.
func newPublishAPI(se webrtc.SettingEngine) (*webrtc.API, error) {
	me, err := newMediaEngine()
	if err != nil {
		return nil, err
	}
	var reg interceptor.Registry
	nackGen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return nil, fmt.Errorf("sfu: nack generator: %w", err)
	}
	reg.Add(nackGen)
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		return nil, fmt.Errorf("sfu: receiver reports: %w", err)
	}
	reg.Add(rr)
	twccFeedback, err := twcc.NewSenderInterceptor()
	if err != nil {
		return nil, fmt.Errorf("sfu: transport-cc feedback: %w", err)
	}
	reg.Add(twccFeedback)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(&reg), webrtc.WithSettingEngine(se)), nil
}

// newSubscribeAPI builds PeerConnections that send to subscribers, with no pion interceptors: the SFU
// does on this side what they would, cheaper. DownTracks stamp transport-wide sequence numbers and
// record each packet in the subscriber's estimator (package bwe), answer NACKs from the shared packet
// cache (pion's responder would keep a copy of every packet per subscriber), and send sender reports
// carrying the publisher's clock (lip sync).
func newSubscribeAPI(se webrtc.SettingEngine) (*webrtc.API, error) {
	me, err := newMediaEngine()
	if err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(&interceptor.Registry{}), webrtc.WithSettingEngine(se)), nil
}
