-- Appends a batch of events, to one or more streams, in one atomic step (a group commit: the appends that arrived
-- while earlier calls were in flight). Every event meets the same rules as if it were appended alone, in order.
--
-- KEYS[3s-2], KEYS[3s-1], KEYS[3s]
--                         per stream: its list, its deletion mark and its producer's lease (both in the list's slot),
--                         s = 1 .. #KEYS / 3
-- ARGV[1]  ttl_ms         the TTL each stream that grows gets, in milliseconds
-- ARGV[2]  max_events     the most events a stream holds, 'complete' included (the last place is kept for it)
-- ARGV[3]  carry_bytes    the most bytes of events a wake-up carries
-- ARGV[4]  timeout_ms     the producer timeout: each stream that grows without 'complete' gets its lease's deadline
--                         (Redis's clock) set this far ahead, with the stream's identity (lease.lua); 0 keeps no lease
-- then 2 per stream, in the order of the streams in KEYS:
--          channel        the stream's wake-up channel, in full
--          wake_prefix    the start of its wake-up message: 'sessionId:messageId:'
-- then 5 per event, in the order they were made:
--          stream         the number of its stream, s
--          json           its stored JSON
--          complete       '1' when it is the 'complete' event, else '0'
--          at             the offset it must land at, or '' for the end
--          id             its id, for a conditional append ('' when none)
--
-- Returns { results, retried, identities }: one result per event, its offset, or COMPLETED (-1) when the stream is completed,
-- FULL (-2) when it is full, DELETED (-3) when the stream was deleted (its mark stands), LAPSED (-4) when its lease's
-- deadline passed without 'complete' (the caller ends the stream, end_lost.lua), CONFLICT_BASE - length
-- (-5 - length) when a conditional append's offset holds another
-- event or is past the end, so that the caller can say the next offset without a second round trip; and the
-- positions, from 1, of the conditional appends that found their event already stored by an earlier try (nothing
-- stored for them now); and per stream, in the order of KEYS, its identity when its wake-up carried the events stored
-- now, else '' (the calling node's own readers take them from here). The events a stream takes go in with one RPUSH. Each stream that grew gets its TTL renewed, its
-- lease moved on (or dropped with 'complete') and one wake-up (wake_up.lua).

local COMPLETED, FULL, DELETED, LAPSED, CONFLICT_BASE = -1, -2, -3, -4, -5
local STREAM_HEADER, STREAM_ARGS, EVENT_ARGS = 4, 2, 5

local ttl_ms = ARGV[1]
local max_events = tonumber(ARGV[2])
local carry_bytes = tonumber(ARGV[3])
local timeout_ms = tonumber(ARGV[4])
local now = timeout_ms > 0 and now_ms() or 0
local moved_lease = timeout_ms > 0 and lease_prefix(now + timeout_ms)

local stream_count = #KEYS / 3
local streams = {}
for s = 1, stream_count do
  local base = STREAM_HEADER + STREAM_ARGS * (s - 1)
  local list, mark, lease = KEYS[3 * s - 2], KEYS[3 * s - 1], KEYS[3 * s]
  local channel, wake_prefix = ARGV[base + 1], ARGV[base + 2]
  local length = redis.call('LLEN', list)
  -- A lease stands only while its stream is open ('complete' drops it, and nothing sets it after): a stream with one
  -- needs no read of its last element, nor of its first for its identity. A lease found on an empty list is one left
  -- by a stream that is gone, not this one's.
  local deadline, identity
  if timeout_ms > 0 and length > 0 then deadline, identity = read_lease(lease) end
  local done = not deadline and length > 0 and is_complete(redis.call('LINDEX', list, -1))
  streams[s] = { list = list, lease = lease, channel = channel, wake_prefix = wake_prefix, length = length, before = length,
                 stored = {}, done = done, deleted = length == 0 and redis.call('EXISTS', mark) == 1,
                 lapsed = deadline and deadline <= now, identity = identity }
end

local results = {}
local retried = {}
for base = STREAM_HEADER + STREAM_ARGS * stream_count, #ARGV - 1, EVENT_ARGS do
  local stream_index, json, complete, at, id =
    tonumber(ARGV[base + 1]), ARGV[base + 2], ARGV[base + 3] == '1', ARGV[base + 4], ARGV[base + 5]
  local s = streams[stream_index]
  local result
  if s.deleted then
    result = DELETED
  elseif at ~= '' and tonumber(at) ~= s.length then
    at = tonumber(at)
    result = CONFLICT_BASE - s.length
    if at < s.length then
      local element = at < s.before and redis.call('LINDEX', s.list, at) or s.stored[at - s.before + 1]
      local ok, stored = pcall(cjson.decode, element)
      if ok and type(stored) == 'table' and stored['id'] == id then
        result = at
        retried[#retried + 1] = #results + 1
      end
    end
  elseif s.lapsed then
    result = LAPSED
  elseif s.done then
    result = COMPLETED
  elseif s.length >= (complete and max_events or max_events - 1) then
    result = FULL
  else
    s.stored[#s.stored + 1] = json
    s.length = s.length + 1
    s.done = complete
    result = s.length - 1
  end
  results[#results + 1] = result
end

local identities = {}
for i = 1, stream_count do
  local s = streams[i]
  identities[i] = ''
  if s.length > s.before then
    redis.call('RPUSH', s.list, unpack(s.stored))
    redis.call('PEXPIRE', s.list, ttl_ms)
    local identity = s.identity
    if s.before == 0 then identity = stream_identity(s.stored[1]) end
    if s.done then
      redis.call('DEL', s.lease)
    elseif timeout_ms > 0 then
      identity = identity or stream_identity(redis.call('LINDEX', s.list, 0))
      write_lease(s.lease, moved_lease, identity, ttl_ms)
    end
    identities[i] = wake_up(s.list, s.channel, s.wake_prefix, s.length, s.stored, carry_bytes, identity)
  end
end
return { results, retried, identities }
