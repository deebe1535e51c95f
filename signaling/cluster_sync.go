package signaling

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/huddlehq/huddle/signaling/admin"
	"github.com/huddlehq/huddle/signaling/cluster"
)

// syncLoop (one goroutine, from New until Close) publishes what other nodes read of this one: the
// participant lists of the rooms it owns, for the cluster-wide admin reads, and its load, for placement.
func (s *Server) syncLoop(ctx context.Context) {
	defer s.bg.Done()
	every := s.cfg.Cluster.SyncInterval
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	published := make(map[string]string) // room -> signature of the list last written
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.syncOnce(ctx, published)
	}
}

func (s *Server) syncOnce(ctx context.Context, published map[string]string) {
	c := s.cfg.Cluster
	load := cluster.Load{}
	if c.Load != nil {
		load = c.Load()
	}
	seen := make(map[string]bool)
	for _, r := range s.roomList() {
		r.mu.Lock()
		members := r.membersLocked()
		r.mu.Unlock()
		if len(members) == 0 {
			continue
		}
		load.Rooms++
		load.Participants += len(members)
		if !c.Placement.Owns(r.name) {
			continue
		}
		seen[r.name] = true
		parts, sig := s.clusterParticipants(members)
		if published[r.name] == sig {
			continue
		}
		if err := c.Placement.SetParticipants(ctx, r.name, parts); err != nil {
			s.log.Debug("publishing a room's participants failed; retrying at the next sync", "room", r.name, "err", err)
			continue
		}
		published[r.name] = sig
	}
	for name := range published {
		if !seen[name] {
			delete(published, name) // released with its claim
		}
	}
	c.Registry.SetLoad(load)
}

// clusterParticipants describes members for the cluster's participant list, with a signature that
// changes whenever the list does.
func (s *Server) clusterParticipants(members []*Session) ([]cluster.Participant, string) {
	self := s.cfg.Cluster.Registry.ID()
	parts := make([]cluster.Participant, 0, len(members))
	var sig strings.Builder
	for _, m := range members {
		info := m.info()
		meta, err := json.Marshal(info)
		if err != nil {
			continue
		}
		edge := self
		if t, ok := m.conn.(*relayTransport); ok {
			edge = t.conn.PeerNode()
		}
		parts = append(parts, cluster.Participant{ID: info.ID, Name: info.Name, Identity: info.Identity, Node: edge, JoinedAt: info.JoinedAt, Meta: meta})
		sig.Write(meta)
	}
	return parts, sig.String()
}

// withClusterRooms adds to this node's rooms those other nodes own (cluster mode).
func (s *Server) withClusterRooms(ctx context.Context, local []admin.RoomInfo) ([]admin.RoomInfo, error) {
	if s.cfg.Cluster == nil {
		return local, nil
	}
	remote, err := s.cfg.Cluster.Placement.Rooms(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster-wide room list: %w", err)
	}
	have := make(map[string]bool, len(local))
	for _, r := range local {
		have[r.Name] = true
	}
	for _, r := range remote {
		if !have[r.Name] {
			local = append(local, admin.RoomInfo{Name: r.Name, Participants: r.Participants, Node: r.Owner.ID})
		}
	}
	sort.Slice(local, func(i, j int) bool { return local[i].Name < local[j].Name })
	return local, nil
}

// remoteParticipants lists a room another node owns (cluster mode); found is false if no node does.
// roomElsewhere says where a room this node does not serve lives, when that is another node of the
// cluster: an admin's change to it must be made there, where its members and rules are. nil when the
// room is here, lives nowhere, or there is no cluster.
func (s *Server) roomElsewhere(ctx context.Context, name string) error {
	if s.cfg.Cluster == nil || s.lookup(name) != nil {
		return nil
	}
	owner, found, err := s.cfg.Cluster.Placement.Lookup(ctx, name)
	if err != nil {
		return fmt.Errorf("room %q: where it lives: %w", name, err)
	}
	if !found || owner.ID == s.cfg.Cluster.Registry.Self().ID {
		return nil
	}
	return &admin.RoomElsewhereError{Room: name, Node: owner.ID, BaseURL: httpBase(owner.SignalURL)}
}

// httpBase turns a node's signalling URL (ws://host:port/ws) into its HTTP base (http://host:port).
func httpBase(signalURL string) string {
	u, err := url.Parse(signalURL)
	if err != nil || u.Host == "" {
		return ""
	}
	scheme := map[string]string{"ws": "http", "wss": "https"}[u.Scheme]
	if scheme == "" {
		return ""
	}
	return scheme + "://" + u.Host
}

func (s *Server) remoteParticipants(ctx context.Context, name string) (out []admin.ParticipantInfo, found bool, err error) {
	if s.cfg.Cluster == nil {
		return nil, false, nil
	}
	owner, found, err := s.cfg.Cluster.Placement.Lookup(ctx, name)
	if err != nil || !found {
		return nil, false, err
	}
	parts, err := s.cfg.Cluster.Placement.Participants(ctx, name)
	if err != nil {
		return nil, true, fmt.Errorf("participants of room %s on node %s: %w", name, owner.ID, err)
	}
	for _, p := range parts {
		var info admin.ParticipantInfo
		if json.Unmarshal(p.Meta, &info) != nil {
			info = admin.ParticipantInfo{ID: p.ID, Identity: p.Identity, Name: p.Name, JoinedAt: p.JoinedAt}
		}
		info.Node = p.Node
		out = append(out, info)
	}
	return out, true, nil
}
