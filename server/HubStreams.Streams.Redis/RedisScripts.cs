using System.Reflection;

namespace HubStreams.Streams.Redis;

/// <summary>
/// The Lua scripts of the Redis store, each in its own file under <c>Scripts/</c> that names every KEYS and ARGV slot it
/// takes. Each runs atomically in one round trip, so no crash or concurrent writer can leave a stream half-changed (a
/// list without a TTL, an event after <c>complete</c>).
/// </summary>
internal static class RedisScripts
{
    /// <summary>Appends a batch of events (<c>Scripts/append.lua</c>); its reply is read by <see cref="AppendReply"/>.</summary>
    public static readonly string Append = Load("is_complete.lua") + Load("lease.lua") + Load("wake_up.lua") + Load("append.lua");

    /// <summary>Reads a page (<c>Scripts/read.lua</c>).</summary>
    public static readonly string Read = Load("is_complete.lua") + Load("lease.lua") + Load("read.lua");

    /// <summary>Reads where a stream stands, for a listing (<c>Scripts/tail.lua</c>).</summary>
    public static readonly string Tail = Load("is_complete.lua") + Load("lease.lua") + Load("tail.lua");

    /// <summary>Deletes a stream, leaving its mark (<c>Scripts/delete.lua</c>).</summary>
    public static readonly string Delete = Load("lease.lua") + Load("wake_up.lua") + Load("delete.lua");

    /// <summary>Moves a producer's lease on (<c>Scripts/heartbeat.lua</c>).</summary>
    public static readonly string Heartbeat = Load("is_complete.lua") + Load("lease.lua") + Load("heartbeat.lua");

    /// <summary>Ends a stream whose producer's lease lapsed, once (<c>Scripts/end_lost.lua</c>).</summary>
    public static readonly string EndLost = Load("is_complete.lua") + Load("lease.lua") + Load("wake_up.lua") + Load("end_lost.lua");

    /// <summary>Records a message in its session's index (<c>Scripts/index.lua</c>).</summary>
    public static readonly string Index = Load("index.lua");

    private static string Load(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"HubStreams.Streams.Redis.Scripts.{name}")
            ?? throw new InvalidOperationException($"The Lua script {name} is not embedded in {Assembly.GetExecutingAssembly().GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd() + "\n";
    }
}

/// <summary>What <c>append.lua</c> answers for one event: its offset, or why it was refused.</summary>
internal readonly record struct AppendReply(long Value, bool AlreadyStored)
{
    /// <summary>The stream is completed.</summary>
    public const long Completed = -1;

    /// <summary>The stream is full.</summary>
    public const long Full = -2;

    /// <summary>The stream was deleted.</summary>
    public const long Deleted = -3;

    /// <summary>The stream's producer lease lapsed without <c>complete</c>: the stream is to be ended (<c>end_lost.lua</c>).</summary>
    public const long Lapsed = -4;

    /// <summary>A conditional append's offset is taken or past the end: the reply is this minus the stream's length.</summary>
    public const long ConflictBase = -5;

    /// <summary>Whether the event is stored at <see cref="Value"/> (now, or by an earlier try).</summary>
    public bool IsStored => Value >= 0;

    /// <summary>For a conflict, the stream's length: where the next event goes.</summary>
    public long ConflictLength => ConflictBase - Value;
}
