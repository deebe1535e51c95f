package sfu

import (
	"fmt"
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Bandwidth estimate bounds for one subscriber's downlink, bits per second. The estimate starts high
// enough for a 720p layer plus audio on a good link and falls within a second or two where the link is
// worse; it grows by about 8 % a second while the link delivers.
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

// newSubscribeAPI builds PeerConnections that send to subscribers. Congestion control: every packet gets
// a transport-wide sequence number and pion's GCC turns the subscriber's feedback into a bandwidth
// estimate. NACKs and sender reports are not pion's: the DownTracks answer NACKs from the shared packet
// cache (a per-subscriber copy of every packet would cost megabytes) and send reports carrying the
// publisher's clock (lip sync).
func newSubscribeAPI(se webrtc.SettingEngine, congestion *cc.InterceptorFactory) (*webrtc.API, error) {
	me, err := newMediaEngine()
	if err != nil {
		return nil, err
	}
	var reg interceptor.Registry
	reg.Add(congestion)
	twccExt, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return nil, fmt.Errorf("sfu: transport-cc header extension: %w", err)
	}
	reg.Add(twccExt)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(&reg), webrtc.WithSettingEngine(se)), nil
}

// bweFactory hands each new subscribe PeerConnection the bandwidth estimator pion's congestion controller
// made for it. pion reports the estimator through a callback during NewPeerConnection; mu pairs the two.
type bweFactory struct {
	interceptor *cc.InterceptorFactory

	mu   sync.Mutex
	last cc.BandwidthEstimator
}

func newBWEFactory() (*bweFactory, error) {
	f := &bweFactory{}
	ic, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		// No pacer: packets go out as they are forwarded, so the hot path stays one synchronous write.
		return gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(initialEstimate),
			gcc.SendSideBWEMinBitrate(minEstimate),
			gcc.SendSideBWEMaxBitrate(maxEstimate),
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
		)
	})
	if err != nil {
		return nil, fmt.Errorf("sfu: congestion controller: %w", err)
	}
	ic.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) { f.last = e }) // under f.mu, see below
	f.interceptor = ic
	return f, nil
}

func (f *bweFactory) newPeerConnection(api *webrtc.API, cfg webrtc.Configuration) (*webrtc.PeerConnection, cc.BandwidthEstimator, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = nil
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return nil, nil, err
	}
	if f.last == nil {
		_ = pc.Close()
		return nil, nil, fmt.Errorf("sfu: no bandwidth estimator for the subscribe connection")
	}
	return pc, f.last, nil
}
