package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/huddlehq/huddle/signaling/auth"
)

// Client calls the admin API of a node.
type Client struct {
	// BaseURL is the node's HTTP base, e.g. http://127.0.0.1:7880.
	BaseURL string
	// Token is sent as the bearer token; empty sends none (a dev-mode node on this machine accepts that).
	Token string
	// HTTP is the client to use; nil: one with a 10 s timeout.
	HTTP *http.Client
}

// APIError is an error reply of the API.
type APIError struct {
	Status  int
	Code    string
	Message string
	// Node and BaseURL say where the room lives, for a room_elsewhere reply.
	Node, BaseURL string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("admin API: %d %s: %s", e.Status, e.Code, e.Message)
}

// Rooms lists the rooms.
func (c *Client) Rooms(ctx context.Context) ([]RoomInfo, error) {
	var out struct {
		Rooms []RoomInfo `json:"rooms"`
	}
	err := c.do(ctx, http.MethodGet, "rooms", nil, &out)
	return out.Rooms, err
}

// Room describes one room.
func (c *Client) Room(ctx context.Context, name string) (RoomInfo, error) {
	var out RoomInfo
	err := c.do(ctx, http.MethodGet, "rooms/"+url.PathEscape(name), nil, &out)
	return out, err
}

// CreateRoom creates a room or replaces its policy.
func (c *Client) CreateRoom(ctx context.Context, name string, policy auth.Policy) (RoomInfo, error) {
	var out RoomInfo
	err := c.do(ctx, http.MethodPost, "rooms", CreateRoomRequest{Name: name, Policy: policy}, &out)
	return out, err
}

// CloseRoom disconnects everyone and forgets the room.
func (c *Client) CloseRoom(ctx context.Context, room string) error {
	return c.do(ctx, http.MethodDelete, "rooms/"+url.PathEscape(room), nil, nil)
}

// Participants lists a room's participants.
func (c *Client) Participants(ctx context.Context, room string) ([]ParticipantInfo, error) {
	var out struct {
		Participants []ParticipantInfo `json:"participants"`
	}
	err := c.do(ctx, http.MethodGet, "rooms/"+url.PathEscape(room)+"/participants", nil, &out)
	return out.Participants, err
}

// RemoveParticipant disconnects identity from room, and bans it when ban is set.
func (c *Client) RemoveParticipant(ctx context.Context, room, identity string, ban bool) error {
	path := participantPath(room, identity)
	if ban {
		path += "?ban=true"
	}
	return c.do(ctx, http.MethodDelete, path, nil, nil)
}

// Unban lets a banned identity join room again.
func (c *Client) Unban(ctx context.Context, room, identity string) error {
	return c.do(ctx, http.MethodDelete, "rooms/"+url.PathEscape(room)+"/bans/"+url.PathEscape(identity), nil, nil)
}

// SetRecording starts or stops recording a room's call; it returns the recording's state.
func (c *Client) SetRecording(ctx context.Context, room string, on bool) (string, error) {
	var out struct {
		State string `json:"state"`
	}
	err := c.do(ctx, http.MethodPut, "rooms/"+url.PathEscape(room)+"/recording", map[string]bool{"recording": on}, &out)
	return out.State, err
}

// MuteTracks mutes or unmutes a participant's tracks as a moderator.
func (c *Client) MuteTracks(ctx context.Context, room, identity string, req MuteRequest) ([]string, error) {
	var out struct {
		Tracks []string `json:"tracks"`
	}
	err := c.do(ctx, http.MethodPost, participantPath(room, identity)+"/mute", req, &out)
	return out.Tracks, err
}

// UpdateGrants replaces identity's grants in room.
func (c *Client) UpdateGrants(ctx context.Context, room, identity string, g auth.Grants) ([]ParticipantInfo, error) {
	var out struct {
		Participants []ParticipantInfo `json:"participants"`
	}
	err := c.do(ctx, http.MethodPut, participantPath(room, identity)+"/grants", g, &out)
	return out.Participants, err
}

// MintToken asks the node to sign a join token.
func (c *Client) MintToken(ctx context.Context, req TokenRequest) (TokenResponse, error) {
	var out TokenResponse
	err := c.do(ctx, http.MethodPost, "tokens", req, &out)
	return out, err
}

// CreateLink asks the node for a join link to room for one person.
func (c *Client) CreateLink(ctx context.Context, room string, req LinkRequest) (LinkResponse, error) {
	var out LinkResponse
	err := c.do(ctx, http.MethodPost, "rooms/"+url.PathEscape(room)+"/links", req, &out)
	return out, err
}

func participantPath(room, identity string) string {
	return "rooms/" + url.PathEscape(room) + "/participants/" + url.PathEscape(identity)
}

// do calls the API. A room that lives on another node of the cluster (room_elsewhere) is asked once
// more, of that node.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	err := c.doAt(ctx, c.BaseURL, method, path, body, out)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Code == CodeRoomElsewhere && apiErr.BaseURL != "" &&
		strings.TrimRight(apiErr.BaseURL, "/") != strings.TrimRight(c.BaseURL, "/") {
		return c.doAt(ctx, apiErr.BaseURL, method, path, body, out)
	}
	return err
}

func (c *Client) doAt(ctx context.Context, base, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("admin client: encode: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(base, "/")+Prefix+path, rd)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin client: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("admin client: %s %s: read reply: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var eb ErrorBody
		if json.Unmarshal(raw, &eb) != nil || eb.Error.Code == "" {
			return &APIError{Status: resp.StatusCode, Code: "http", Message: strings.TrimSpace(string(raw))}
		}
		return &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message, Node: eb.Error.Node, BaseURL: eb.Error.BaseURL}
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("admin client: %s %s: decode reply: %w", method, path, err)
	}
	return nil
}
