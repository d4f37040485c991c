-- Appends a batch of events, to one or more streams, in one atomic step (a group commit: the appends that arrived
-- while earlier calls were in flight). Every event meets the same rules as if it were appended alone, in order.
--
-- KEYS[2s-1], KEYS[2s]    per stream: its list, and its deletion mark (in the list's slot), s = 1 .. #KEYS / 2
-- ARGV[1]  ttl_ms         the TTL each stream that grows gets, in milliseconds
-- ARGV[2]  max_events     the most events a stream holds, 'complete' included (the last place is kept for it)
-- ARGV[3]  carry_bytes    the most bytes of events a wake-up carries
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
-- Returns { results, retried }: one result per event, its offset, or COMPLETED (-1) when the stream is completed,
-- FULL (-2) when it is full, DELETED (-3) when the stream was deleted (its mark stands), CONFLICT_BASE - length
-- (-4 - length) when a conditional append's offset holds another
-- event or is past the end, so that the caller can say the next offset without a second round trip; and the
-- positions, from 1, of the conditional appends that found their event already stored by an earlier try (nothing
-- stored for them now). The events a stream takes go in with one RPUSH. Each stream that grew gets its TTL renewed and
-- one wake-up, sharded where the server takes SPUBLISH: '{wake_prefix}{newLength}', followed, when the events this call stored there fit carry_bytes, by
-- ':{identity}' and each event's JSON on a line of its own, so that a reader already at the end takes them from the
-- wake-up instead of reading the stream.

local COMPLETED, FULL, DELETED, CONFLICT_BASE = -1, -2, -3, -4
local STREAM_HEADER, STREAM_ARGS, EVENT_ARGS = 3, 2, 5

local ttl_ms = ARGV[1]
local max_events = tonumber(ARGV[2])
local carry_bytes = tonumber(ARGV[3])

-- Sharded where the server takes it (the channel hashes to the stream's slot, so it stays on that shard), else
-- classic: the same test the store's subscribers make (RedisWakeUps), so publishers and subscribers agree.
local function publish(channel, message)
  local sharded = redis.pcall('SPUBLISH', channel, message)
  if type(sharded) == 'table' and sharded.err then
    redis.call('PUBLISH', channel, message)
  end
end

local stream_count = #KEYS / 2
local streams = {}
for s = 1, stream_count do
  local base = STREAM_HEADER + STREAM_ARGS * (s - 1)
  local list, mark = KEYS[2 * s - 1], KEYS[2 * s]
  local channel, wake_prefix = ARGV[base + 1], ARGV[base + 2]
  local length = redis.call('LLEN', list)
  streams[s] = { list = list, channel = channel, wake_prefix = wake_prefix, length = length, before = length, stored = {},
                 bytes = 0, done = length > 0 and is_complete(redis.call('LINDEX', list, -1)),
                 deleted = length == 0 and redis.call('EXISTS', mark) == 1 }
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
  elseif s.done then
    result = COMPLETED
  elseif s.length >= (complete and max_events or max_events - 1) then
    result = FULL
  else
    s.stored[#s.stored + 1] = json
    s.length = s.length + 1
    s.done = complete
    s.bytes = s.bytes + #json
    if string.find(json, '\n', 1, true) then s.bytes = carry_bytes + 1 end
    result = s.length - 1
  end
  results[#results + 1] = result
end

for i = 1, stream_count do
  local s = streams[i]
  if s.length > s.before then
    redis.call('RPUSH', s.list, unpack(s.stored))
    redis.call('PEXPIRE', s.list, ttl_ms)
    local message = s.wake_prefix .. s.length
    if s.bytes <= carry_bytes then
      local identity = string.sub(redis.sha1hex(redis.call('LINDEX', s.list, 0)), 1, 16)
      message = message .. ':' .. identity .. '\n' .. table.concat(s.stored, '\n')
    end
    publish(s.channel, message)
  end
end
return { results, retried }
