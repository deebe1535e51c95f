package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers of every webhook POST.
const (
	// HeaderSignature is "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the secret>".
	HeaderSignature = "Huddle-Signature"
	// HeaderKey is the id of the API key whose secret signed the body.
	HeaderKey = "Huddle-Key"
	// HeaderEvent is the event name, also in the body.
	HeaderEvent = "Huddle-Event"
	// HeaderEventID is the event id, also in the body: the same on every retry of one event.
	HeaderEventID = "Huddle-Event-Id"
)

// DefaultTolerance is how old a signature Verify accepts: bounds the replay of a captured request.
const DefaultTolerance = 5 * time.Minute

// Sign returns the Huddle-Signature header value for body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a Huddle-Signature header against the raw body, as a receiver should: the HMAC must
// match (compared in constant time) and the timestamp be within tolerance of now.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1": // several v1 values may come during a secret rotation; any may match
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("webhook signature: header is not t=<unix>,v1=<hex>")
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook signature: timestamp %s is outside the %s tolerance", time.Unix(unix, 0).UTC().Format(time.RFC3339), tolerance)
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return errors.New("webhook signature: no v1 signature matches the body")
}
