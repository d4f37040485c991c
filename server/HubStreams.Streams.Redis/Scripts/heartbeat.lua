-- A producer says it is still writing a stream: its lease's deadline moves to now + timeout_ms (Redis's clock) and the
-- stream's TTL starts again, as an append would make them.
--
-- KEYS[1]  stream         the stream's list
-- KEYS[2]  mark           its deletion mark
-- KEYS[3]  lease          its producer's lease (lease.lua)
-- ARGV[1]  timeout_ms     the producer timeout; 0 keeps no lease
-- ARGV[2]  ttl_ms         the stream's TTL
--
-- Returns { length } for a stream being written (its lease moved on), { 0 } for one that holds nothing, or
-- { COMPLETED (-1) }, { DELETED (-3) }, { LAPSED (-4) } (its deadline passed: the caller ends it, end_lost.lua), as
-- append.lua names them.

local COMPLETED, DELETED, LAPSED = -1, -3, -4
local stream, mark, lease = KEYS[1], KEYS[2], KEYS[3]
local timeout_ms, ttl_ms = tonumber(ARGV[1]), ARGV[2]

local length = redis.call('LLEN', stream)
if length == 0 then
  if redis.call('EXISTS', mark) == 1 then return { DELETED } end
  return { 0 }
end
if is_complete(redis.call('LINDEX', stream, -1)) then return { COMPLETED } end
if timeout_ms > 0 then
  local now = now_ms()
  local deadline, identity = read_lease(lease)
  if deadline and deadline <= now then return { LAPSED } end
  write_lease(lease, lease_prefix(now + timeout_ms), identity or stream_identity(redis.call('LINDEX', stream, 0)), ttl_ms)
end
redis.call('PEXPIRE', stream, ttl_ms)
return { length }
