namespace HubStreams.Streams.Redis;

/// <summary>
/// The Lua scripts of the Redis store. Each runs atomically in one round trip, so no crash or
/// concurrent writer can leave a stream half-changed (a list without a TTL, an event after <c>complete</c>).
/// </summary>
internal static class RedisScripts
{
    // Whether a stored element is the 'complete' event. The cheap substring test spares a JSON decode
    // of nearly every element; the decode makes the answer exact.
    private const string IsCompleteFunction = """
        local function is_complete(element)
          if not element or not string.find(element, 'complete', 1, true) then return false end
          local ok, decoded = pcall(cjson.decode, element)
          return ok and type(decoded) == 'table' and decoded['type'] == 'complete'
        end
        """;

    /// <summary>
    /// Appends one event. KEYS[1]: the stream. ARGV: event JSON, TTL in ms, max events, '1' when the event is 'complete',
    /// the stream's wake-up channel, wake-up message prefix (<c>sessionId:messageId:</c>), the offset the event must land
    /// at ('' for any: the end), the event's id (for a conditional append), the publish command (<c>SPUBLISH</c>, whose
    /// channel hashes to the stream's slot, or <c>PUBLISH</c>). Returns the new offset; -1 when the stream is completed,
    /// -2 when it is full; for a conditional append whose offset holds another event or is past the end, -3 - length
    /// (so that the caller can say the next offset without a second round trip).
    /// </summary>
    public const string Append = IsCompleteFunction + """

        local length = redis.call('LLEN', KEYS[1])
        if ARGV[7] ~= '' then
          local at = tonumber(ARGV[7])
          if at < length then
            local ok, stored = pcall(cjson.decode, redis.call('LINDEX', KEYS[1], at))
            if ok and type(stored) == 'table' and stored['id'] == ARGV[8] then return at end
            return -3 - length
          end
          if at > length then return -3 - length end
        end
        if length > 0 and is_complete(redis.call('LINDEX', KEYS[1], -1)) then return -1 end
        local limit = tonumber(ARGV[3])
        if ARGV[4] ~= '1' then limit = limit - 1 end
        if length >= limit then return -2 end
        local newLength = redis.call('RPUSH', KEYS[1], ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        redis.call(ARGV[9], ARGV[5], ARGV[6] .. newLength)
        return newLength - 1
        """;

    /// <summary>
    /// Reads a page. KEYS[1]: the stream. ARGV: from offset, max count, max bytes (of elements; the first one always
    /// counts). Returns { length, elements from the offset (empty when it is at or past the end), 1 when the stream is
    /// completed else 0, the stream's identity (16 hex digits of the SHA-1 of its first element; '' when it is empty) }.
    /// Elements are fetched in small ranges, so a page cut short by its byte budget reads little more.
    /// </summary>
    public const string Read = IsCompleteFunction + """

        local length = redis.call('LLEN', KEYS[1])
        local from = tonumber(ARGV[1])
        local last = math.min(length, from + tonumber(ARGV[2])) - 1
        local budget = tonumber(ARGV[3])
        local elements = {}
        local bytes = 0
        local at = from
        while at <= last do
          local chunk = redis.call('LRANGE', KEYS[1], at, math.min(last, at + 63))
          for _, element in ipairs(chunk) do
            bytes = bytes + #element
            if #elements > 0 and bytes > budget then
              at = last + 1
              break
            end
            elements[#elements + 1] = element
          end
          at = at + 64
        end
        local completed = 0
        local identity = ''
        if length > 0 then
          if is_complete(redis.call('LINDEX', KEYS[1], -1)) then completed = 1 end
          identity = string.sub(redis.sha1hex(redis.call('LINDEX', KEYS[1], 0)), 1, 16)
        end
        return { length, elements, completed, identity }
        """;
}
