-- Records that a session holds a message, before the message's stream is first written on this node: the session's
-- index is a sorted set of message ids, each scored by when it was first recorded, that lives at least as long as any
-- stream it names can (each record renews it).
--
-- KEYS[1]  index          the session's index
-- ARGV[1]  message_id     the message
-- ARGV[2]  now_ms         its score, when it is new (an entry already there keeps its own)
-- ARGV[3]  ttl_ms         the least the index has left to live afterwards
--
-- Returns 1 when the entry is new, 0 when it was there.

local index = KEYS[1]
local added = redis.call('ZADD', index, 'NX', ARGV[2], ARGV[1])
local ttl_ms = tonumber(ARGV[3])
if redis.call('PTTL', index) < ttl_ms then
  redis.call('PEXPIRE', index, ttl_ms)
end
return added
