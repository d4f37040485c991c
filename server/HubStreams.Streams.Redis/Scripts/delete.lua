-- Deletes one stream: drops its list and leaves a deletion mark in its place, in the list's slot, for as long as the
-- list had left to live, so that every later read or append of it is refused; then wakes its readers on every node.
--
-- KEYS[1]  stream         the stream's list
-- KEYS[2]  mark           its deletion mark
-- KEYS[3]  lease          its producer's lease, which goes with the list
-- ARGV[1]  ttl_ms         how long the mark lives when the list has no expiry (a list of the original service)
-- ARGV[2]  channel        the stream's wake-up channel, in full
-- ARGV[3]  gone           the wake-up that sends its readers to read again: 'sessionId:messageId:gone'
--
-- Returns 1 when the stream is deleted (now, or by an earlier call whose mark stands), 0 when there was nothing to delete.

local stream, mark = KEYS[1], KEYS[2]
local ttl_ms, channel, gone = tonumber(ARGV[1]), ARGV[2], ARGV[3]

if redis.call('EXISTS', stream) == 0 then
  return redis.call('EXISTS', mark)
end

local left = redis.call('PTTL', stream)
if left <= 0 then left = ttl_ms end
redis.call('DEL', stream, KEYS[3])
redis.call('SET', mark, '1', 'PX', left)
publish(channel, gone)
return 1
