-- A producer's lease and a stream's identity, for the scripts that read or move a lease (included before them).
--
-- A lease holds '{deadline}:{identity}': the deadline in milliseconds of Redis's clock, and the identity of the stream it
-- belongs to, so that an append carrying its events in a wake-up need not read the stream's first element to name it.
-- A lease holding the deadline alone (as one written before identities were kept there) reads as having no identity.

-- A stream's identity: 16 hex digits of the SHA-1 of its first element.
local function stream_identity(first)
  return string.sub(redis.sha1hex(first), 1, 16)
end

-- The lease's deadline and identity, or nil for each it does not hold.
local function read_lease(lease)
  local value = redis.call('GET', lease)
  if not value then return nil, nil end
  local colon = string.find(value, ':', 1, true)
  if not colon then return tonumber(value), nil end
  return tonumber(string.sub(value, 1, colon - 1)), string.sub(value, colon + 1)
end

-- The start of a lease's value for a deadline, '{deadline}:'. A call that moves several leases to the same deadline makes
-- it once: formatting the number is a good part of what writing a lease costs the script.
local function lease_prefix(deadline)
  return deadline .. ':'
end

local function write_lease(lease, prefix, identity, ttl_ms)
  redis.call('SET', lease, prefix .. identity, 'PX', ttl_ms)
end

-- Redis's clock, in milliseconds: every node's deadlines are read and written by the one clock.
local function now_ms()
  local clock = redis.call('TIME')
  return tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
end
