-- Reads a page of one stream. Elements are fetched in small ranges, so a page cut short by its byte budget reads
-- little more than it returns.
--
-- KEYS[1]  stream         the stream's list
-- KEYS[2]  mark           its deletion mark
-- ARGV[1]  from           the offset of the first event
-- ARGV[2]  max_count      the most events
-- ARGV[3]  max_bytes      the most bytes of elements (the first one always counts)
--
-- Returns { -1 } when the stream was deleted (its mark stands), else { length, elements from the offset (none when it is at or past the end), 1 when the stream is completed
-- else 0, the stream's identity: 16 hex digits of the SHA-1 of its first element, '' when it is empty }.

local RANGE = 64

local stream = KEYS[1]
local from = tonumber(ARGV[1])
local max_count = tonumber(ARGV[2])
local max_bytes = tonumber(ARGV[3])

local length = redis.call('LLEN', stream)
if length == 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  return { -1 }
end
local last = math.min(length, from + max_count) - 1
local elements = {}
local bytes = 0
local at = from
while at <= last do
  local chunk = redis.call('LRANGE', stream, at, math.min(last, at + RANGE - 1))
  for _, element in ipairs(chunk) do
    bytes = bytes + #element
    if #elements > 0 and bytes > max_bytes then
      at = last + 1
      break
    end
    elements[#elements + 1] = element
  end
  at = at + RANGE
end
local completed = 0
local identity = ''
if length > 0 then
  if is_complete(redis.call('LINDEX', stream, -1)) then completed = 1 end
  identity = stream_identity(redis.call('LINDEX', stream, 0))
end
return { length, elements, completed, identity }
