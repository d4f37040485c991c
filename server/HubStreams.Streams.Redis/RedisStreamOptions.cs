namespace HubStreams.Streams.Redis;

/// <summary>Where and how the Redis store keeps streams.</summary>
public sealed class RedisStreamOptions
{
    /// <summary>The default key prefix, as in the original design.</summary>
    public const string DefaultPrefix = "stream:events";

    /// <summary>The default interval of the safety-net check for lost wake-up notifications.</summary>
    public static readonly TimeSpan DefaultSafetyNetInterval = TimeSpan.FromSeconds(30);

    private string _prefix = DefaultPrefix;
    private TimeSpan _safetyNetInterval = DefaultSafetyNetInterval;

    /// <summary>
    /// The key prefix (<c>REDIS_PREFIX</c>): a stream lives at <c>{prefix}:{sessionId}:{messageId}</c>.
    /// A trailing <c>:</c> is dropped so it is not doubled. With the database it also scopes every pub/sub channel
    /// (see <see cref="ChannelScope"/>). No <c>{</c> or <c>}</c>: in a Redis Cluster a hash tag in the prefix would put
    /// every stream on one slot. Default <c>stream:events</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The prefix is empty or holds a brace.</exception>
    public string Prefix
    {
        get => _prefix;
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            var trimmed = value.EndsWith(':') ? value[..^1] : value;
            ArgumentException.ThrowIfNullOrWhiteSpace(trimmed, nameof(value));
            if (trimmed.AsSpan().IndexOfAny('{', '}') >= 0)
            {
                throw new ArgumentException(
                    "The Redis key prefix must not contain '{' or '}': in a Redis Cluster a hash tag would put every stream on one slot.",
                    nameof(value));
            }

            _prefix = trimmed;
        }
    }

    /// <summary>
    /// How often the store checks, with one <c>LLEN</c> per waited stream, whether a wake-up notification
    /// was lost (Redis pub/sub is at-most-once). At least one second; default 30 seconds.
    /// </summary>
    public TimeSpan SafetyNetInterval
    {
        get => _safetyNetInterval;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.FromSeconds(1));
            _safetyNetInterval = value;
        }
    }

    /// <summary>
    /// How many replicas must hold an append before it is acknowledged (<c>REDIS_WAIT_REPLICAS</c>): 0, the default,
    /// acknowledges once the primary has it; 1 or more sends <c>WAIT</c> after each append, on a connection of its own.
    /// </summary>
    public int WaitReplicas
    {
        get => _waitReplicas;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _waitReplicas = value;
        }
    }

    private int _waitReplicas;

    /// <summary>How long an append waits for its replicas (<c>REDIS_WAIT_TIMEOUT</c>); at least 1 ms; default 1 second.</summary>
    public TimeSpan WaitTimeout
    {
        get => _waitTimeout;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.FromMilliseconds(1));
            _waitTimeout = value;
        }
    }

    private TimeSpan _waitTimeout = TimeSpan.FromSeconds(1);

    /// <summary>The Redis key of a stream's list.</summary>
    public string StreamKeyFor(StreamKey key) => $"{Prefix}:{key.SessionId}:{key.MessageId}";

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
}
