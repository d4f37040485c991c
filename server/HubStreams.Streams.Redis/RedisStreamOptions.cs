namespace HubStreams.Streams.Redis;

/// <summary>Where and how the Redis store keeps streams.</summary>
public sealed class RedisStreamOptions
{
    /// <summary>The default key prefix, as in the original design.</summary>
    public const string DefaultPrefix = "stream:events";

    /// <summary>The default interval of the safety-net check for lost wake-up notifications.</summary>
    public static readonly TimeSpan DefaultSafetyNetInterval = TimeSpan.FromSeconds(30);

    private string _prefix = DefaultPrefix;

    /// <summary>
    /// The key prefix (<c>REDIS_PREFIX</c>): a stream lives at <c>{prefix}:{sessionId}:{messageId}</c>.
    /// A trailing <c>:</c> is dropped so it is not doubled. With the database it also scopes every pub/sub channel
    /// (see <see cref="ChannelScope"/>). Not empty, and no <c>{</c> or <c>}</c>: in a Redis Cluster a hash tag in the
    /// prefix would put every stream on one slot. Default <c>stream:events</c>.
    /// </summary>
    public string Prefix
    {
        get => _prefix;
        set => _prefix = value is not null && value.EndsWith(':') ? value[..^1] : value!;
    }

    /// <summary>
    /// How often the store checks, with one <c>LLEN</c> per waited stream, whether a wake-up notification
    /// was lost (Redis pub/sub is at-most-once). At least one second; default 30 seconds.
    /// </summary>
    public TimeSpan SafetyNetInterval { get; set; } = DefaultSafetyNetInterval;

    /// <summary>
    /// How many replicas must hold an append before it is acknowledged (<c>REDIS_WAIT_REPLICAS</c>): 0, the default,
    /// acknowledges once the primary has it; 1 or more sends <c>WAIT</c> after each append, on a connection of its own.
    /// </summary>
    public int WaitReplicas { get; set; }

    /// <summary>How long an append waits for its replicas (<c>REDIS_WAIT_TIMEOUT</c>); at least 1 ms; default 1 second.</summary>
    public TimeSpan WaitTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The values that break their rules; empty when every value is valid.</summary>
    public IEnumerable<OptionProblem> Problems()
    {
        if (string.IsNullOrWhiteSpace(Prefix))
        {
            yield return new(nameof(Prefix), "a non-empty key prefix");
        }
        else if (Prefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            yield return new(nameof(Prefix), "without { or }: in a Redis Cluster a hash tag would put every stream on one slot");
        }

        if (SafetyNetInterval < TimeSpan.FromSeconds(1))
        {
            yield return new(nameof(SafetyNetInterval), "at least 1 s");
        }

        if (WaitReplicas < 0)
        {
            yield return new(nameof(WaitReplicas), "0 or more");
        }

        if (WaitTimeout < TimeSpan.FromMilliseconds(1))
        {
            yield return new(nameof(WaitTimeout), "at least 1 ms");
        }
    }

    /// <summary>Throws when any value breaks its rule: what the Redis store does with the options it is given.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names each.</exception>
    public void EnsureValid() => OptionProblem.ThrowIfAny(Problems(), nameof(RedisStreamOptions));

    /// <summary>The Redis key of a stream's list.</summary>
    public string StreamKeyFor(StreamKey key) => $"{Prefix}:{key.SessionId}:{key.MessageId}";

    /// <summary>
    /// The key of a deleted stream's mark: <c>{{prefix}:{sessionId}:{messageId}}:deleted</c>, the stream's key as a hash
    /// tag, so that in a Redis Cluster it shares the stream's slot and changes with it in one script. It starts with
    /// <c>{</c>, which no prefix or id holds, so it is never read as a stream.
    /// </summary>
    public string DeletedKeyFor(StreamKey key) => "{" + StreamKeyFor(key) + "}:deleted";

    /// <summary>
    /// The key of a stream's producer lease: <c>{{prefix}:{sessionId}:{messageId}}:producer</c>, a string holding the
    /// producer's deadline in milliseconds of Redis's clock, in the stream's slot like <see cref="DeletedKeyFor"/>. The
    /// append script sets it with each append (and drops it with <c>complete</c>), with the stream's TTL; a list the
    /// original service writes has none, so it is never ended for a lost producer.
    /// </summary>
    public string LeaseKeyFor(StreamKey key) => "{" + StreamKeyFor(key) + "}:producer";

    /// <summary>
    /// The key of a session's index, a sorted set of its message ids: <c>{{prefix}:{sessionId}}:messages</c>. Like
    /// <see cref="DeletedKeyFor"/>, never read as a stream; it lives in a slot of its own, not its messages'.
    /// </summary>
    public string SessionIndexKeyFor(string sessionId) => "{" + Prefix + ":" + sessionId + "}:messages";

    /// <summary>
    /// The pub/sub channel that carries the append wake-ups of one stream, relative to the connection's channel prefix
    /// (its <see cref="ChannelScope"/> when the server made the connection): <c>appended:{key}</c>, the stream's key as
    /// a hash tag, so that in a Redis Cluster the channel hashes to the slot of the stream it speaks for and a sharded
    /// publish stays on that stream's shard.
    /// </summary>
    public string WakeUpChannelFor(StreamKey key) => "appended:{" + StreamKeyFor(key) + "}";

    /// <summary>
    /// The prefix of every pub/sub channel of a deployment: <c>{prefix}:{database}:</c>. Pub/sub ignores databases, so
    /// without the database two deployments with one prefix on two databases would hear each other.
    /// </summary>
    public string ChannelScope(int database) => $"{Prefix}:{database}:";

    /// <summary>
    /// The pub/sub channel that carries a session's changes (a message started, completed, deleted), relative to the
    /// connection's channel prefix: <c>session:{sessionId}</c>. Published classic, so it reaches every node of a cluster.
    /// </summary>
    public static string SessionChannelFor(string sessionId) => "session:" + sessionId;
}
