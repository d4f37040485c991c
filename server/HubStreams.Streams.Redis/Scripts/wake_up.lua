-- Wakes a stream's readers on every node, for the scripts that store events (included before them).
--
-- wake_up(list, channel, wake_prefix, length, stored, carry_bytes, identity) publishes '{wake_prefix}{length}',
-- followed, when the events just stored ('stored', their JSON) fit carry_bytes and none holds a line break, by
-- ':{identity}' and each event's JSON on a line of its own, so that a reader already at the end takes them from the
-- wake-up instead of reading the stream. 'identity' is the stream's when the caller knows it (its lease holds it, or
-- the caller stored the first element), else nil: it is then read from the list's first element (stream_identity,
-- lease.lua). Returns the identity when it carried the events (the appending node hands them to its own readers with
-- it), else ''. Sharded where the server takes SPUBLISH (the channel hashes to the stream's slot, so it stays on that
-- shard), else classic: the same test the store's subscribers make (RedisWakeUps), so publishers and subscribers agree.

local function publish(channel, message)
  local sharded = redis.pcall('SPUBLISH', channel, message)
  if type(sharded) == 'table' and sharded.err then
    redis.call('PUBLISH', channel, message)
  end
end

local function wake_up(list, channel, wake_prefix, length, stored, carry_bytes, identity)
  local bytes = 0
  for _, json in ipairs(stored) do
    bytes = bytes + #json
    if string.find(json, '\n', 1, true) then bytes = carry_bytes + 1 end
  end
  if bytes > carry_bytes then
    publish(channel, wake_prefix .. length)
    return ''
  end
  identity = identity or stream_identity(redis.call('LINDEX', list, 0))
  -- One concatenation makes the message (a chain of them makes one string); one event needs no joining.
  local events = #stored == 1 and stored[1] or table.concat(stored, '\n')
  publish(channel, wake_prefix .. length .. ':' .. identity .. '\n' .. events)
  return identity
end
