package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/huddlehq/huddle/signaling/auth"
	"github.com/huddlehq/huddle/signaling/protocol"
)

// Prefix is where the API is served.
const Prefix = "/admin/v1/"

const maxBodySize = 64 << 10

// Config sets up the handler.
type Config struct {
	Directory Directory
	// Keys verifies bearer tokens and signs the join tokens the API mints; nil: no token verifies.
	Keys *auth.Keyring
	// TrustLoopback (dev mode) treats a request without Authorization from this machine as an admin's.
	TrustLoopback bool
	// PublicURL is the base of join links (e.g. https://meet.example.org); empty: http://<request Host>.
	PublicURL string
	// Nodes lists the deployment's nodes and their load (GET /admin/v1/nodes); nil: the route says 404.
	Nodes  func(ctx context.Context) ([]NodeStatus, error)
	Logger *slog.Logger
}

// handler serves the routes of the API.
type handler struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux
}

// NewHandler returns the API's http.Handler; mount it at Prefix.
func NewHandler(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	h := &handler{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	routes := []struct {
		pattern string
		fn      func(http.ResponseWriter, *http.Request, caller) error
	}{
		{"GET /admin/v1/rooms", h.listRooms},
		{"GET /admin/v1/nodes", h.listNodes},
		{"POST /admin/v1/rooms", h.createRoom},
		{"GET /admin/v1/rooms/{room}", h.getRoom},
		{"DELETE /admin/v1/rooms/{room}", h.closeRoom},
		{"GET /admin/v1/rooms/{room}/participants", h.listParticipants},
		{"DELETE /admin/v1/rooms/{room}/participants/{identity}", h.removeParticipant},
		{"POST /admin/v1/rooms/{room}/participants/{identity}/mute", h.mute},
		{"PUT /admin/v1/rooms/{room}/participants/{identity}/grants", h.updateGrants},
		{"DELETE /admin/v1/rooms/{room}/bans/{identity}", h.unban},
		{"PUT /admin/v1/rooms/{room}/recording", h.setRecording},
		{"POST /admin/v1/tokens", h.mintToken},
		{"POST /admin/v1/rooms/{room}/links", h.createLink},
	}
	for _, r := range routes {
		h.mux.Handle(r.pattern, h.authenticated(r.fn))
	}
	h.mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, CodeNotFound, "no such admin API route: "+r.Method+" "+r.URL.Path)
	})
	return h.mux
}

// caller is who made an authenticated request. Room, when set, limits it to that room.
type caller struct {
	identity string
	room     string
}

func (c caller) allows(room string) bool { return c.room == "" || c.room == room }

// authenticated checks the bearer token and its admin grant before fn runs, and maps fn's error.
func (h *handler) authenticated(fn func(http.ResponseWriter, *http.Request, caller) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, status, aerr := h.authenticate(r)
		if aerr != nil {
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="huddle admin"`)
			}
			writeError(w, status, aerr.Code, aerr.Err.Error())
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodySize)
		if err := fn(w, r, who); err != nil {
			h.fail(w, r, err)
		}
	})
}

func (h *handler) authenticate(r *http.Request) (caller, int, *auth.Error) {
	header := r.Header.Get("Authorization")
	if header == "" && h.cfg.TrustLoopback && auth.LoopbackRequest(r) {
		return caller{identity: "dev"}, 0, nil
	}
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return caller{}, http.StatusUnauthorized, auth.Errorf(auth.CodeTokenMissing, "send Authorization: Bearer <token with the admin grant>")
	}
	if h.cfg.Keys == nil {
		return caller{}, http.StatusUnauthorized, auth.Errorf(auth.CodeTokenInvalid, "this server has no API keys and cannot verify tokens")
	}
	claims, err := h.cfg.Keys.Verify(token)
	if err != nil {
		var aerr *auth.Error
		if !errors.As(err, &aerr) {
			aerr = &auth.Error{Code: auth.CodeTokenInvalid, Err: err}
		}
		return caller{}, http.StatusUnauthorized, aerr
	}
	if claims.Grants == nil || !claims.Grants.Admin {
		return caller{}, http.StatusForbidden, auth.Errorf(auth.CodeInsufficientGrant, "the token has no admin grant")
	}
	return caller{identity: claims.Identity(), room: claims.Room}, 0, nil
}

// forbidRoom is the error of a room-scoped admin reaching beyond its room.
func forbidRoom(who caller, room string) error {
	return auth.Errorf(auth.CodeInsufficientGrant, "the token's admin grant is for room %q, not %q", who.room, room)
}

// listNodes answers GET /admin/v1/nodes: every node with its load; an admin token limited to one room
// may not see the deployment.
func (h *handler) listNodes(w http.ResponseWriter, r *http.Request, who caller) error {
	if who.room != "" {
		writeError(w, http.StatusForbidden, auth.CodeInsufficientGrant, "a token for one room cannot list the nodes")
		return nil
	}
	if h.cfg.Nodes == nil {
		writeError(w, http.StatusNotFound, CodeNotFound, "this server does not list nodes")
		return nil
	}
	nodes, err := h.cfg.Nodes(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"nodes": nodes})
}

func (h *handler) listRooms(w http.ResponseWriter, r *http.Request, who caller) error {
	rooms, err := h.cfg.Directory.Rooms(r.Context())
	if err != nil {
		return err
	}
	out := make([]RoomInfo, 0, len(rooms))
	for _, room := range rooms {
		if who.allows(room.Name) {
			out = append(out, room)
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"rooms": out})
}

func (h *handler) createRoom(w http.ResponseWriter, r *http.Request, who caller) error {
	var req CreateRoomRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := protocol.ValidateRoomName(req.Name); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := req.Policy.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if !who.allows(req.Name) {
		return forbidRoom(who, req.Name)
	}
	room, created, err := h.cfg.Directory.CreateRoom(r.Context(), req.Name, req.Policy)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	h.log.Info("admin: room configured", "by", who.identity, "room", req.Name, "created", created)
	return writeJSON(w, status, room)
}

func (h *handler) getRoom(w http.ResponseWriter, r *http.Request, who caller) error {
	name := r.PathValue("room")
	if !who.allows(name) {
		return forbidRoom(who, name)
	}
	room, err := h.cfg.Directory.Room(r.Context(), name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, room)
}

func (h *handler) closeRoom(w http.ResponseWriter, r *http.Request, who caller) error {
	name := r.PathValue("room")
	if !who.allows(name) {
		return forbidRoom(who, name)
	}
	if err := h.cfg.Directory.CloseRoom(r.Context(), name); err != nil {
		return err
	}
	h.log.Info("admin: room closed", "by", who.identity, "room", name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) listParticipants(w http.ResponseWriter, r *http.Request, who caller) error {
	name := r.PathValue("room")
	if !who.allows(name) {
		return forbidRoom(who, name)
	}
	ps, err := h.cfg.Directory.Participants(r.Context(), name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"participants": ps})
}

func (h *handler) removeParticipant(w http.ResponseWriter, r *http.Request, who caller) error {
	room, identity := r.PathValue("room"), r.PathValue("identity")
	if !who.allows(room) {
		return forbidRoom(who, room)
	}
	ban := false
	if v := r.URL.Query().Get("ban"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%w: ban=%q is not true or false", ErrInvalid, v)
		}
		ban = b
	}
	if err := h.cfg.Directory.RemoveParticipant(r.Context(), room, identity, ban); err != nil {
		return err
	}
	h.log.Info("admin: participant removed", "by", who.identity, "room", room, "identity", identity, "ban", ban)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) unban(w http.ResponseWriter, r *http.Request, who caller) error {
	room, identity := r.PathValue("room"), r.PathValue("identity")
	if !who.allows(room) {
		return forbidRoom(who, room)
	}
	if err := h.cfg.Directory.Unban(r.Context(), room, identity); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setRecording starts or stops recording a room's call: {"recording": true}.
func (h *handler) setRecording(w http.ResponseWriter, r *http.Request, who caller) error {
	room := r.PathValue("room")
	if !who.allows(room) {
		return forbidRoom(who, room)
	}
	var req struct {
		Recording *bool `json:"recording"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Recording == nil {
		return fmt.Errorf("%w: recording (true or false) is required", ErrInvalid)
	}
	state, err := h.cfg.Directory.SetRecording(r.Context(), room, *req.Recording, who.identity)
	if err != nil {
		return err
	}
	h.log.Info("admin: recording", "by", who.identity, "room", room, "on", *req.Recording, "state", state)
	return writeJSON(w, http.StatusOK, map[string]string{"state": state})
}

func (h *handler) mute(w http.ResponseWriter, r *http.Request, who caller) error {
	room, identity := r.PathValue("room"), r.PathValue("identity")
	if !who.allows(room) {
		return forbidRoom(who, room)
	}
	var req MuteRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if (req.TrackID == "") == (req.Source == "") {
		return fmt.Errorf("%w: give either trackId or source", ErrInvalid)
	}
	ids, err := h.cfg.Directory.MuteTracks(r.Context(), room, identity, req)
	if err != nil {
		return err
	}
	h.log.Info("admin: tracks muted", "by", who.identity, "room", room, "identity", identity, "tracks", ids, "muted", req.Muted)
	return writeJSON(w, http.StatusOK, map[string]any{"tracks": ids})
}

func (h *handler) updateGrants(w http.ResponseWriter, r *http.Request, who caller) error {
	room, identity := r.PathValue("room"), r.PathValue("identity")
	if !who.allows(room) {
		return forbidRoom(who, room)
	}
	var g auth.Grants
	if err := decode(r, &g); err != nil {
		return err
	}
	if err := g.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if g.Admin && who.room != "" {
		return auth.Errorf(auth.CodeInsufficientGrant, "a room-scoped admin cannot grant admin")
	}
	ps, err := h.cfg.Directory.UpdateGrants(r.Context(), room, identity, g)
	if err != nil {
		return err
	}
	h.log.Info("admin: grants updated", "by", who.identity, "room", room, "identity", identity, "grants", g.String())
	return writeJSON(w, http.StatusOK, map[string]any{"participants": ps})
}

func (h *handler) mintToken(w http.ResponseWriter, r *http.Request, who caller) error {
	var req TokenRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	role, err := h.signingRole(req.Role)
	if err != nil {
		return err
	}
	ttl := DefaultTokenTTL
	if req.TTL != "" {
		if ttl, err = time.ParseDuration(req.TTL); err != nil || ttl <= 0 || ttl > MaxTokenTTL {
			return fmt.Errorf("%w: ttl %q is not a duration between 1s and %s", ErrInvalid, req.TTL, MaxTokenTTL)
		}
	}
	adminToken := req.Grants != nil && req.Grants.Admin
	switch {
	case adminToken && who.room != "":
		return auth.Errorf(auth.CodeInsufficientGrant, "a room-scoped admin cannot mint admin tokens")
	case req.Room == "" && !adminToken: // only an admin token may be valid for every room
		return fmt.Errorf("%w: room is missing", ErrInvalid)
	case req.Room != "" && !who.allows(req.Room):
		return forbidRoom(who, req.Room)
	}
	claims := auth.Claims{Room: req.Room, Name: req.Name, Role: role, Grants: req.Grants, Policy: req.Policy,
		RegisteredClaims: jwt.RegisteredClaims{Subject: req.Identity}}
	token, expires, err := MintJoin(h.cfg.Keys, claims, ttl)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	h.log.Info("admin: token minted", "by", who.identity, "room", req.Room, "identity", req.Identity, "role", role, "ttl", ttl)
	return writeJSON(w, http.StatusOK, TokenResponse{Token: token, ExpiresAt: expires, JoinURL: JoinURL(h.baseURL(r), req.Room, token)})
}

// createLink mints a join token for one person and room and wraps it in a link to the web client.
func (h *handler) createLink(w http.ResponseWriter, r *http.Request, who caller) error {
	room := r.PathValue("room")
	if !who.allows(room) {
		return forbidRoom(who, room)
	}
	var req LinkRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	role, err := h.signingRole(req.Role)
	if err != nil {
		return err
	}
	ttl := DefaultTokenTTL
	if req.TTLSeconds != 0 {
		ttl = time.Duration(req.TTLSeconds) * time.Second
		if req.TTLSeconds < 0 || ttl > MaxTokenTTL {
			return fmt.Errorf("%w: ttlSeconds %d is not between 1 and %d", ErrInvalid, req.TTLSeconds, int(MaxTokenTTL/time.Second))
		}
	}
	claims := auth.Claims{Room: room, Name: req.Name, Role: role, Policy: req.Policy,
		RegisteredClaims: jwt.RegisteredClaims{Subject: req.Identity}}
	token, expires, err := MintJoin(h.cfg.Keys, claims, ttl)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	h.log.Info("admin: join link made", "by", who.identity, "room", room, "identity", req.Identity, "role", role, "ttl", ttl)
	return writeJSON(w, http.StatusOK, LinkResponse{URL: JoinURL(h.baseURL(r), room, token), Token: token, ExpiresAt: expires})
}

// signingRole checks that this node can sign tokens, then parses the role a token or link asks for.
func (h *handler) signingRole(name string) (auth.Role, error) {
	if h.cfg.Keys == nil {
		return "", errNoKeys
	}
	role, err := auth.ParseRole(name)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return role, nil
}

// MintJoin signs a join token of claims valid for ttl and says when it expires, to the second, as the
// API's replies show it. The CLI uses it too, where it holds the keys itself.
func MintJoin(keys *auth.Keyring, claims auth.Claims, ttl time.Duration) (token string, expiresAt time.Time, err error) {
	token, err = keys.Mint(claims, ttl)
	if err != nil {
		return "", time.Time{}, err
	}
	return token, time.Now().Add(ttl).UTC().Truncate(time.Second), nil
}

func (h *handler) baseURL(r *http.Request) string {
	if h.cfg.PublicURL != "" {
		return h.cfg.PublicURL
	}
	return "http://" + r.Host
}

// JoinURL is the web client's link that joins room with token: {base}/#room={room}&token={token}. The
// token rides in the fragment, which browsers never send to a server, so it stays out of access logs and
// Referer headers; the web client reads it from location.hash.
func JoinURL(base, room, token string) string {
	q := url.Values{}
	if room != "" {
		q.Set("room", room)
	}
	q.Set("token", token)
	// url.Values sorts its keys, and "room" < "token": the documented order.
	return strings.TrimRight(base, "/") + "/#" + q.Encode()
}

var errNoKeys = errors.New("no API keys are configured, so the server cannot sign tokens; set auth.keys")

// fail writes the reply for a handler's error.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var aerr *auth.Error
	var maxErr *http.MaxBytesError
	var elsewhere *RoomElsewhereError
	switch {
	case errors.As(err, &elsewhere):
		var body ErrorBody
		body.Error.Code, body.Error.Message = CodeRoomElsewhere, elsewhere.Error()
		body.Error.Node, body.Error.BaseURL = elsewhere.Node, elsewhere.BaseURL
		_ = writeJSON(w, http.StatusMisdirectedRequest, body)
	case errors.As(err, &aerr):
		writeError(w, http.StatusForbidden, aerr.Code, aerr.Err.Error())
	case errors.As(err, &maxErr):
		writeError(w, http.StatusRequestEntityTooLarge, CodeBadRequest, err.Error())
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, CodeBadRequest, err.Error())
	case errors.Is(err, ErrRoomNotFound):
		writeError(w, http.StatusNotFound, CodeRoomNotFound, err.Error())
	case errors.Is(err, ErrParticipantNotFound):
		writeError(w, http.StatusNotFound, CodeParticipantNotFound, err.Error())
	case errors.Is(err, ErrTrackNotFound):
		writeError(w, http.StatusNotFound, CodeUnknownTrack, err.Error())
	case errors.Is(err, errNoKeys):
		writeError(w, http.StatusConflict, CodeNoKeys, err.Error())
	default:
		h.log.Error("admin request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, CodeInternal, err.Error())
	}
}

// decode reads a JSON body strictly: an unknown field is a typo the admin should hear about.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return err
		}
		return fmt.Errorf("%w: body: %w", ErrInvalid, err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode reply: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
	return nil
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	var body ErrorBody
	body.Error.Code, body.Error.Message = code, message
	_ = writeJSON(w, status, body)
}
