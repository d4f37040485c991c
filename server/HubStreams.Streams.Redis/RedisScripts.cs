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
    /// Appends a batch of events, to one or more streams, in one atomic step (a group commit: the appends that arrived
    /// while the previous call was in flight). Every event meets the same rules as if it were appended alone, in order.
    /// KEYS: the streams. ARGV: TTL in ms, max events, the publish command (<c>SPUBLISH</c>, whose channel hashes to the
    /// stream's slot, or <c>PUBLISH</c>), the most bytes of events a wake-up carries; then for each stream its wake-up
    /// channel and wake-up message prefix (<c>sessionId:messageId:</c>); then five per event: the index of its stream in
    /// KEYS, its JSON, '1' when it is 'complete', the offset it must land at ('' for any: the end), its id (for a
    /// conditional append). Returns two arrays: one result per event (its offset; -1 when the stream is completed, -2 when
    /// it is full; for a conditional append whose offset holds another event or is past the end, -3 - length, so that the
    /// caller can say the next offset without a second round trip); and the positions, from 1, of the conditional appends
    /// that found their event already stored by an earlier try (nothing stored for them now).
    /// The events a stream takes go in with one RPUSH. Each stream that grew gets its TTL renewed and one wake-up: <c>{prefix}{newLength}</c>, followed, when the events
    /// this call stored there fit the byte budget, by <c>:{identity}</c> and each event's JSON on a line of its own, so
    /// that a reader already at the end takes them from the wake-up instead of reading the stream.
    /// </summary>
    public const string Append = IsCompleteFunction + """

        local limit = tonumber(ARGV[2])
        local carry = tonumber(ARGV[4])
        local streams = {}
        for i = 1, #KEYS do
          local length = redis.call('LLEN', KEYS[i])
          streams[i] = { length = length, before = length, stored = {}, bytes = 0,
                         done = length > 0 and is_complete(redis.call('LINDEX', KEYS[i], -1)) }
        end
        local results = {}
        local retried = {}
        for e = 5 + 2 * #KEYS, #ARGV, 5 do
          local i = tonumber(ARGV[e])
          local s = streams[i]
          local json, complete, at = ARGV[e + 1], ARGV[e + 2] == '1', ARGV[e + 3]
          local result
          if at ~= '' and tonumber(at) ~= s.length then
            at = tonumber(at)
            result = -3 - s.length
            if at < s.length then
              local element = at < s.before and redis.call('LINDEX', KEYS[i], at) or s.stored[at - s.before + 1]
              local ok, stored = pcall(cjson.decode, element)
              if ok and type(stored) == 'table' and stored['id'] == ARGV[e + 4] then
                result = at
                retried[#retried + 1] = #results + 1
              end
            end
          elseif s.done then
            result = -1
          elseif s.length >= (complete and limit or limit - 1) then
            result = -2
          else
            s.stored[#s.stored + 1] = json
            s.length = s.length + 1
            s.done = complete
            s.bytes = s.bytes + #json
            if string.find(json, '\n', 1, true) then s.bytes = carry + 1 end
            result = s.length - 1
          end
          results[#results + 1] = result
        end
        for i = 1, #KEYS do
          local s = streams[i]
          if s.length > s.before then
            redis.call('RPUSH', KEYS[i], unpack(s.stored))
            redis.call('PEXPIRE', KEYS[i], ARGV[1])
            local message = ARGV[4 + 2 * i] .. s.length
            if s.bytes <= carry then
              local identity = string.sub(redis.sha1hex(redis.call('LINDEX', KEYS[i], 0)), 1, 16)
              message = message .. ':' .. identity .. '\n' .. table.concat(s.stored, '\n')
            end
            redis.call(ARGV[3], ARGV[3 + 2 * i], message)
          end
        end
        return { results, retried }
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
