-- Ends a stream whose producer was lost, once: when its lease's deadline has passed with no 'complete', the events that
-- say so (an 'error' and 'complete', both with data.reason 'producer_lost') go at its end in one step, the lease goes,
-- and its readers wake on every node. Any number of nodes may ask at the same moment: one ends it, the others find no
-- lease. A stream with no lease (one the original service writes) is never ended here.
--
-- KEYS[1]  stream         the stream's list
-- KEYS[2]  lease          its producer's lease (lease.lua)
-- ARGV[1]  ttl_ms         the TTL the ended stream gets
-- ARGV[2]  max_events     the most events a stream holds: the 'error' goes in only with room left for 'complete'
-- ARGV[3]  carry_bytes    the most bytes of events a wake-up carries
-- ARGV[4]  channel        the stream's wake-up channel, in full
-- ARGV[5]  wake_prefix    the start of its wake-up message: 'sessionId:messageId:'
-- ARGV[6]  error_json     the stored JSON of the 'error' event
-- ARGV[7]  complete_json  the stored JSON of the 'complete' event
--
-- Returns { ENDED (1), length } when this call ended the stream, { PENDING (0), milliseconds left } when the deadline
-- has not come, { NONE (-1) } when there is no lease to end (none kept, the stream ended, or it holds nothing).

local ENDED, PENDING, NONE = 1, 0, -1
local stream, lease = KEYS[1], KEYS[2]
local ttl_ms, max_events, carry_bytes = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local channel, wake_prefix, error_json, complete_json = ARGV[4], ARGV[5], ARGV[6], ARGV[7]

local deadline, identity = read_lease(lease)
if not deadline then return { NONE } end
local now = now_ms()
if now < deadline then return { PENDING, deadline - now } end

local length = redis.call('LLEN', stream)
if length == 0 or is_complete(redis.call('LINDEX', stream, -1)) then
  redis.call('DEL', lease)
  return { NONE }
end

local stored = {}
if length < max_events - 1 then stored[#stored + 1] = error_json end
stored[#stored + 1] = complete_json
redis.call('RPUSH', stream, unpack(stored))
redis.call('PEXPIRE', stream, ttl_ms)
redis.call('DEL', lease)
wake_up(stream, channel, wake_prefix, length + #stored, stored, carry_bytes, identity)
return { ENDED, length + #stored }
