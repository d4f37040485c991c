-- Reads where one stream stands, for a session's listing: how many events it holds and its first and last ones.
--
-- KEYS[1]  stream         the stream's list
-- KEYS[2]  mark           its deletion mark
-- KEYS[3]  lease          its producer's lease (lease.lua)
--
-- Returns { -1 } when the stream was deleted, { 0 } when it holds nothing, else { length, first element, last element,
-- 1 when the last one is the 'complete' event else 0, the stream's identity (16 hex digits of the SHA-1 of its first
-- element), 1 when its producer's deadline has passed (the caller ends it, end_lost.lua) else 0 }.

local stream = KEYS[1]
local length = redis.call('LLEN', stream)
if length == 0 then
  if redis.call('EXISTS', KEYS[2]) == 1 then return { -1 } end
  return { 0 }
end
local first = redis.call('LINDEX', stream, 0)
local last = redis.call('LINDEX', stream, -1)
local completed = 0
local lapsed = 0
if is_complete(last) then
  completed = 1
else
  local deadline = read_lease(KEYS[3])
  if deadline and deadline <= now_ms() then lapsed = 1 end
end
return { length, first, last, completed, stream_identity(first), lapsed }
