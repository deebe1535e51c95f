package cluster

import "github.com/redis/go-redis/v9"

// The Lua scripts: every multi-key change is one script, so Redis applies it atomically and a crash or
// a lost connection can never leave a key without its TTL or a claim half-made. Scripts derive some key
// names from prefixes in ARGV, which a single Redis primary allows (Redis Cluster would not).

// heartbeatScript registers the node and refreshes its claims.
//
//	KEYS: node, nodes, node-rooms
//	ARGV: id, node JSON, ttl ms, room key prefix, members key prefix, n, n owned rooms…, released rooms…
//
// Rooms released since the last heartbeat are deleted if still ours. Every other room the node owns
// (its local list plus node-rooms, where other nodes record claims made for it) is refreshed if the
// claim is ours; a missing claim is re-taken only when the node key had expired ("recovering": Redis
// restarted, or this node could not reach it for a TTL). It returns {recovering, kept, lost}.
var heartbeatScript = redis.NewScript(`
local id, ttl, rp, mp = ARGV[1], ARGV[3], ARGV[4], ARGV[5]
local n = tonumber(ARGV[6])
local recovering = redis.call('EXISTS', KEYS[1]) == 0
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
redis.call('SADD', KEYS[2], id)
redis.call('PEXPIRE', KEYS[2], ttl)
local released = {}
for i = 7 + n, #ARGV do
  local r = ARGV[i]
  released[r] = true
  if redis.call('GET', rp .. r) == id then redis.call('DEL', rp .. r, mp .. r) end
end
local rooms = {}
for i = 7, 6 + n do rooms[ARGV[i]] = true end
for _, r in ipairs(redis.call('SMEMBERS', KEYS[3])) do rooms[r] = true end
local kept, lost = {}, {}
for r in pairs(rooms) do
  if not released[r] then
    local owner = redis.call('GET', rp .. r)
    if owner == id or (not owner and recovering) then
      redis.call('SET', rp .. r, id, 'PX', ttl)
      redis.call('PEXPIRE', mp .. r, ttl)
      kept[#kept + 1] = r
    else
      lost[#lost + 1] = r
    end
  end
end
redis.call('DEL', KEYS[3])
for i = 1, #kept, 500 do
  redis.call('SADD', KEYS[3], unpack(kept, i, math.min(i + 499, #kept)))
end
if #kept > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
return {recovering and 1 or 0, kept, lost}
`)

// leaveScript deletes the node's registration and every claim it still holds.
//
//	KEYS: node, nodes, node-rooms
//	ARGV: id, room key prefix, members key prefix, owned rooms…
var leaveScript = redis.NewScript(`
local rooms = {}
for i = 4, #ARGV do rooms[ARGV[i]] = true end
for _, r in ipairs(redis.call('SMEMBERS', KEYS[3])) do rooms[r] = true end
for r in pairs(rooms) do
  if redis.call('GET', ARGV[2] .. r) == ARGV[1] then redis.call('DEL', ARGV[2] .. r, ARGV[3] .. r) end
end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('SREM', KEYS[2], ARGV[1])
return 1
`)

// claimScript returns a room's live owner or claims the room for the candidate.
//
//	KEYS: room, room-members, candidate node, candidate node-rooms
//	ARGV: candidate id, ttl ms, node key prefix, room name, node-rooms key prefix
//
// A claim whose owner's node key has expired is taken over (its participant list goes with it). The
// candidate must be registered and not draining. Replies: {"owner", id, info}, {"claimed", id, info},
// {"gone"} or {"draining"}.
var claimScript = redis.NewScript(`
local owner = redis.call('GET', KEYS[1])
if owner then
  local info = redis.call('GET', ARGV[3] .. owner)
  if info then return {'owner', owner, info} end
  redis.call('SREM', ARGV[5] .. owner, ARGV[4])
  redis.call('DEL', KEYS[2])
end
local cand = redis.call('GET', KEYS[3])
if not cand then return {'gone'} end
local ok, n = pcall(cjson.decode, cand)
if ok and type(n) == 'table' and n['draining'] == true then return {'draining'} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[4], ARGV[4])
redis.call('PEXPIRE', KEYS[4], ARGV[2])
return {'claimed', ARGV[1], cand}
`)

// releaseScript deletes a claim and its participant list if the node owns it (compare and delete).
//
//	KEYS: room, room-members, node-rooms
//	ARGV: id, room name
var releaseScript = redis.NewScript(`
redis.call('SREM', KEYS[3], ARGV[2])
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
return 0
`)

// membersScript changes a room's participant list if the node owns the room; the list's TTL follows
// the claim's.
//
//	KEYS: room, room-members
//	ARGV: id, op ("set", "add" or "del"), field/value pairs (set, add) or fields (del)…
var membersScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local op = ARGV[2]
if op == 'set' then redis.call('DEL', KEYS[2]) end
local step = 1000
if op == 'del' then
  for i = 3, #ARGV, step do redis.call('HDEL', KEYS[2], unpack(ARGV, i, math.min(i + step - 1, #ARGV))) end
  return 1
end
for i = 3, #ARGV, step do redis.call('HSET', KEYS[2], unpack(ARGV, i, math.min(i + step - 1, #ARGV))) end
if #ARGV >= 3 then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
end
return 1
`)

// dialScript opens a relay session from the edge: both presence keys, the first message, the
// announcement in the owner's inbox.
//
//	KEYS: edge presence, owner presence, up, down, owner inbox, owner node
//	ARGV: ttl ms, session id, edge id, inbox max length, has first message ("1"/"0"), first message
var dialScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[6]) == 0 then return 'nonode' end
if redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3], KEYS[4]) > 0 then return 'exists' end
redis.call('SET', KEYS[1], 'open', 'PX', ARGV[1])
redis.call('SET', KEYS[2], 'open', 'PX', ARGV[1])
if ARGV[5] == '1' then
  redis.call('XADD', KEYS[3], '0-1', 'k', 'm', 'd', ARGV[6])
  redis.call('PEXPIRE', KEYS[3], ARGV[1])
end
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[4], '*', 's', ARGV[2], 'e', ARGV[3])
redis.call('PEXPIRE', KEYS[5], ARGV[1])
return 'ok'
`)

// sendScript appends one entry to a session's outbound stream while both ends are open. The entry id
// is the sender's sequence number ("0-N"), so a retried send that had already landed is recognised
// ("dup") instead of being added twice.
//
//	KEYS: outbound stream, peer presence, own presence
//	ARGV: id, kind, data, ttl ms, max length
var sendScript = redis.NewScript(`
if redis.call('GET', KEYS[3]) ~= 'open' then return 'lost' end
local peer = redis.call('GET', KEYS[2])
if not peer then return 'gone' end
if peer ~= 'open' then return 'closed' end
local r = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], ARGV[1], 'k', ARGV[2], 'd', ARGV[3])
if type(r) == 'table' and r.err then
  if string.find(r.err, 'equal or smaller', 1, true) then return 'dup' end
  return r
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 'ok'
`)

// closeScript closes one end of a relay session. While the peer is open, it marks this end "closed",
// appends the close marker to the outbound stream (the peer reads everything before it, then EOF) and
// deletes the inbound stream; the peer deletes the rest when it reads the marker. If the peer has
// closed or vanished already, it deletes all four keys.
//
//	KEYS: own presence, peer presence, outbound, inbound
//	ARGV: marker id, ttl ms
var closeScript = redis.NewScript(`
if redis.call('GET', KEYS[2]) ~= 'open' then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
  return 'deleted'
end
redis.call('SET', KEYS[1], 'closed', 'PX', ARGV[2])
local r = redis.pcall('XADD', KEYS[3], ARGV[1], 'k', 'c', 'd', '')
if type(r) == 'table' and r.err and not string.find(r.err, 'equal or smaller', 1, true) then return r end
redis.call('PEXPIRE', KEYS[3], ARGV[2])
redis.call('DEL', KEYS[4])
return 'closed'
`)
