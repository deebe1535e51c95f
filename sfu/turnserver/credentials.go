package turnserver

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the TURN REST scheme is HMAC-SHA1; coturn verifies the same
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// MintCredentials makes a TURN REST credential (draft-uberti-behave-turn-rest, coturn's
// static-auth-secret / use-auth-secret): the username is "<expiry unix seconds>:<user>", the password
// base64(HMAC-SHA1(secret, username)). Any TURN server configured with the same secret accepts it until
// the expiry; the embedded one also requires user to be admitted (Server.Admit).
func MintCredentials(secret, user string, expiry time.Time) (username, password string) {
	username = strconv.FormatInt(expiry.Unix(), 10) + ":" + user
	return username, restPassword(secret, username)
}

func restPassword(secret, username string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// parseUsername splits a REST username into its expiry and user; ok is false when it is not one.
func parseUsername(username string) (expiry time.Time, user string, ok bool) {
	ts, user, found := strings.Cut(username, ":")
	if !found || user == "" || len(username) > 256 {
		return time.Time{}, "", false
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || secs <= 0 || strconv.FormatInt(secs, 10) != ts { // canonical: as MintCredentials writes it
		return time.Time{}, "", false
	}
	return time.Unix(secs, 0), user, true
}
