package web_test

// A tap on the client's signalling WebSocket for browser tests: it records
// every message the page sends and receives (but ICE candidates), can drop
// chosen server messages before the client sees them, and can inject
// messages as if the server had sent them. Tests use it to check what goes on
// the wire and to drive UI the server would drive (stream_state,
// active_speakers, publisher_layers) without depending on the server.

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// wireTapJS wraps WebSocket.prototype.send and the onmessage setter (the
// client uses ws.onmessage) before any page script runs. window.__wire:
//
//	sent(type?), received(type?)  recorded messages {type, id, data, at}
//	drop(type...)                 server messages of these types never reach the client
//	undrop(type...)               they reach it again
//	inject(type, data)            delivers {type, data} to the client as if from the server
const wireTapJS = `(() => {
  const WS = window.WebSocket;
  const sent = [], received = [], dropped = new Set();
  let last = null, injecting = false;
  const record = (list, text) => {
    try {
      const m = JSON.parse(text);
      if (m && m.type !== 'ice_candidate') list.push({type: m.type, id: m.id, data: m.data, at: Date.now()});
      return m;
    } catch (e) { return null; }
  };
  const send = WS.prototype.send;
  WS.prototype.send = function (data) {
    last = this;
    record(sent, data);
    return send.call(this, data);
  };
  const d = Object.getOwnPropertyDescriptor(WS.prototype, 'onmessage');
  Object.defineProperty(WS.prototype, 'onmessage', {
    configurable: true,
    get() { return d.get.call(this); },
    set(fn) {
      last = this;
      d.set.call(this, fn && ((ev) => {
        const m = record(received, ev.data);
        if (!injecting && m && dropped.has(m.type)) return;
        return fn.call(this, ev);
      }));
    },
  });
  const pick = (list, type) => list.filter((m) => !type || m.type === type);
  window.__wire = {
    sent: (type) => pick(sent, type),
    received: (type) => pick(received, type),
    drop: (...types) => { for (const t of types) dropped.add(t); return true; },
    undrop: (...types) => { for (const t of types) dropped.delete(t); return true; },
    inject: (type, data) => {
      if (!last) return false;
      injecting = true;
      try { last.dispatchEvent(new MessageEvent('message', {data: JSON.stringify({type, data})})); }
      finally { injecting = false; }
      return true;
    },
  };
})();`

// installScript makes src run before the page's own scripts on every load of tb.
func installScript(t *testing.T, tb *tab, src string) {
	t.Helper()
	if err := chromedp.Do(tb.Ctx, chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tgt, page.AddScriptToEvaluateOnNewDocument,
			page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
		return err
	})); err != nil {
		t.Fatalf("tab %s: installing a script: %v", tb.Name, err)
	}
}

// wireMsg is one recorded signalling message.
type wireMsg struct {
	Type string          `json:"type"`
	ID   string          `json:"id"`
	Data json.RawMessage `json:"data"`
	At   float64         `json:"at"` // ms since the epoch, browser clock
}

// publishOffer is the part of a sent publish_offer's data the tests read: the SDP and the tracks with
// their declared simulcast layers (PROTOCOL.md).
type publishOffer struct {
	SDP    string `json:"sdp"`
	Tracks []struct {
		Mid    string `json:"mid"`
		Source string `json:"source"`
		Layers []struct {
			RID        string `json:"rid"`
			Width      int64  `json:"width"`
			Height     int64  `json:"height"`
			MaxBitrate int64  `json:"maxBitrate"`
		} `json:"layers"`
	} `json:"tracks"`
}

// wireSent returns the messages of type typ the tab sent so far.
func wireSent(tb *tab, typ string) ([]wireMsg, error) {
	return evalJS[[]wireMsg](tb.Ctx, fmt.Sprintf(`window.__wire.sent(%q)`, typ))
}

// wireReceived returns the messages of type typ the tab received so far.
func wireReceived(tb *tab, typ string) ([]wireMsg, error) {
	return evalJS[[]wireMsg](tb.Ctx, fmt.Sprintf(`window.__wire.received(%q)`, typ))
}

// wireInject delivers a message to the tab's client as if the server sent it.
func wireInject(t *testing.T, tb *tab, typ string, data any) {
	t.Helper()
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatalf("encoding %s: %v", typ, err)
	}
	ok, err := evalJS[bool](tb.Ctx, fmt.Sprintf(`window.__wire.inject(%q, %s)`, typ, b))
	if err != nil || !ok {
		t.Fatalf("tab %s: injecting %s: ok=%v err=%v", tb.Name, typ, ok, err)
	}
}

// trackSettingsMsg is the data of a track_settings message (PROTOCOL.md).
type trackSettingsMsg struct {
	TrackID  string `json:"trackId"`
	Paused   bool   `json:"paused"`
	MaxLayer string `json:"maxLayer"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	Priority string `json:"priority"`
}

// sentTrackSettings returns the track_settings the tab sent for trackID, oldest first.
func sentTrackSettings(tb *tab, trackID string) ([]trackSettingsMsg, error) {
	msgs, err := wireSent(tb, "track_settings")
	if err != nil {
		return nil, err
	}
	var out []trackSettingsMsg
	for _, m := range msgs {
		var s trackSettingsMsg
		if err := json.Unmarshal(m.Data, &s); err != nil {
			return nil, fmt.Errorf("track_settings data %s: %w", m.Data, err)
		}
		if s.TrackID == trackID {
			out = append(out, s)
		}
	}
	return out, nil
}
