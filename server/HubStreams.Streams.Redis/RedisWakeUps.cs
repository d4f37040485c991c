using System.Collections.Concurrent;
using HubStreams.Streams.Watching;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace HubStreams.Streams.Redis;

/// <summary>
/// How a node hears of appends made anywhere: every append call publishes <c>{sessionId}:{messageId}:{newLength}</c> on
/// its stream's own channel, with the events it stored when they are small (<see cref="WakeUpMessage"/>), and a node
/// subscribes to a stream's channel only while it has a watcher of that stream (<see cref="WakeUpSubscriptions"/>), so
/// it hears only of the streams its readers follow. On Redis 7 and later the publish is sharded (<c>SPUBLISH</c>): in a
/// cluster it stays on the shard that holds the stream. A wake-up goes to the stream's <see cref="WatchedStream"/>,
/// which holds what it carries and wakes the readers waiting there.
/// </summary>
/// <remarks>
/// Pub/sub is at-most-once, so the wake-up stays a hint and three safety nets catch a lost one: every watch reads again
/// when a connection is restored; a slow timer checks each watched stream's length with one <c>LLEN</c> (not one per
/// reader) per interval; and a cluster failover moves the subscriptions stranded on a lost primary to where their slots
/// went (<see cref="StrandedSubscriptionRepair"/>). A watched stream's expiry reaches its readers through <see cref="StreamExpiryChecks"/>.
/// </remarks>
internal sealed class RedisWakeUps : IAsyncDisposable
{
    /// <summary>How many of a watched stream's newest events a node keeps for its readers that fall behind.</summary>
    internal const int RecentEventsPerStream = 256;

    private const int Unknown = 0;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisStreamOptions _redisOptions;
    private readonly RedisMetrics _redisMetrics;
    private readonly RedisFailures _failures;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly WakeUpSubscriptions _subscriptions;
    private readonly ConcurrentDictionary<StreamKey, Action<RedisChannel, RedisValue>> _handlers = new();
    private readonly WatchedStreamChecks<long> _expiries;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _detecting = new();
    private readonly Task _safetyNet;
    private readonly Task _expiryChecks;
    private readonly WatchedStreamChecks<LeaseCheck>? _leases;
    private readonly Task _leaseChecks = Task.CompletedTask;
    private readonly StrandedSubscriptionRepair _repair;
    private Task<WakeUpPublishing>? _detection;
    private int _publishing = Unknown;
    private string? _channelScope;

    public RedisWakeUps(
        IConnectionMultiplexer redis, StreamOptions options, RedisStreamOptions redisOptions, StreamReadFunction read,
        StreamMetrics metrics, RedisMetrics redisMetrics, RedisFailures failures, ILogger logger, TimeProvider time,
        Func<StreamKey, Task<LeaseCheck>> checkLease)
    {
        _redis = redis;
        _redisOptions = redisOptions;
        _redisMetrics = redisMetrics;
        _failures = failures;
        _logger = logger;
        _time = time;
        _subscriptions = new WakeUpSubscriptions(SubscribeAsync, UnsubscribeAsync, redisMetrics);
        Watches = new StreamWatches(read, metrics, RecentEventsPerStream, _subscriptions.WantAsync, _subscriptions.Drop, runOneReaderHere: true);
        _expiries = StreamExpiryChecks.Create(options.Ttl, time, Watches.IsWatched, RemainingMillisecondsAsync, WakeIfItHeldEvents);
        _repair = new StrandedSubscriptionRepair(redis, _subscriptions, () => Publishing, Channel, Watches.WakeStream, time, _stopping.Token);
        _redis.ConnectionRestored += OnConnectionRestored;
        _redis.ConnectionFailed += _repair.OnConnectionFailed;
        _safetyNet = RunSafetyNetAsync(_stopping.Token);
        _expiryChecks = _expiries.RunAsync(_stopping.Token);
        if (options.LeasesProducers)
        {
            _leases = ProducerLeaseChecks.Create(options.ProducerTimeout, time, Watches.IsWatched, checkLease);
            _leaseChecks = _leases.RunAsync(_stopping.Token);
        }
    }

    /// <summary>How many expiry checks of watched streams were answered so far.</summary>
    internal long ExpiryAnswers => _expiries.Answers;

    /// <summary>The streams this node's readers watch, told of every append the wake-ups bring.</summary>
    public StreamWatches Watches { get; }

    /// <summary>How appends publish their wake-ups, once known (<see cref="DetectPublishingAsync"/>); null before.</summary>
    public WakeUpPublishing? Publishing => Volatile.Read(ref _publishing) is var known and not Unknown ? (WakeUpPublishing)(known - 1) : null;

    /// <summary>
    /// How wake-ups are published on this Redis, found on first use: sharded (<c>SPUBLISH</c>) where the server
    /// has it and takes it, else classic <c>PUBLISH</c>. Every node of a farm finds the same answer on the same Redis, so
    /// subscribers agree; the append script makes the same test for itself (<c>Scripts/append.lua</c>), so publishers
    /// agree with them without asking.
    /// </summary>
    /// <exception cref="StreamException">No Redis server answers (<see cref="StreamErrorCode.StoreUnavailable"/>).</exception>
    public async ValueTask<WakeUpPublishing> DetectPublishingAsync()
    {
        if (Publishing is { } known)
        {
            return known;
        }

        Task<WakeUpPublishing> detection;
        lock (_detecting)
        {
            detection = _detection ??= DetectOnceAsync();
        }

        return await detection;
    }

    private async Task<WakeUpPublishing> DetectOnceAsync()
    {
        try
        {
            var publishing = await ProbeAsync();
            Volatile.Write(ref _publishing, (int)publishing + 1);
            return publishing;
        }
        finally
        {
            // Found, or failed: a failure is asked again on the next use, never guessed.
            lock (_detecting)
            {
                _detection = null;
            }
        }
    }

    private async Task<WakeUpPublishing> ProbeAsync()
    {
        var server = _redis.GetServers().FirstOrDefault(s => s.IsConnected) ?? throw _failures.NoServer();
        var publishing = WakeUpPublishing.Classic;
        if (server.Features.ShardedPubSub)
        {
            try
            {
                // The version says yes; the server must also take it (a proxy or an ACL can refuse the command).
                await _redis.GetSubscriber().PublishAsync(RedisChannel.Sharded("probe:{" + _redisOptions.Prefix + "}"), "");
                publishing = WakeUpPublishing.Sharded;
            }
            catch (Exception e) when (RedisFailures.IsUnavailable(e))
            {
                // No answer yet (Redis away, or still loading its data).
                throw _failures.Unavailable(null, e);
            }
            catch (RedisServerException e)
            {
                RedisLog.ShardedPubSubRefused(_logger, e.Message);
            }
        }

        RedisLog.WakeUpPublishing(_logger, publishing == WakeUpPublishing.Sharded ? "sharded pub/sub (SPUBLISH)" : "classic pub/sub (PUBLISH)",
            server.Version.ToString());
        return publishing;
    }

    // A stream found gone wakes its readers to meet the expiry, unless they never saw it hold anything: then they are
    // waiting for its first event already, and its first append's wake-up, maybe on its way, is what they wait for.
    private void WakeIfItHeldEvents(StreamKey key)
    {
        if (Watches.Find(key) is { KnownLength: > 0 })
        {
            Watches.WakeStream(key);
        }
    }

    /// <summary>A reader started watching <paramref name="key"/> (its subscription confirmed).</summary>
    public void Watched(StreamKey key)
    {
        _expiries.Watched(key);
        _leases?.Watched(key);
    }

    /// <summary>
    /// The channel the append script publishes <paramref name="key"/>'s wake-ups on: the script runs on the server and
    /// knows no client-side prefix, so this is the full name.
    /// </summary>
    public string PublishedChannel(StreamKey key) => (_channelScope ??=
        ConfigurationOptions.Parse(_redis.Configuration).ChannelPrefix is { IsNullOrEmpty: false } scope ? scope.ToString() : "")
        + _redisOptions.WakeUpChannelFor(key);

    /// <summary>Stops the safety nets and every subscription.</summary>
    public async ValueTask DisposeAsync()
    {
        _redis.ConnectionRestored -= OnConnectionRestored;
        _redis.ConnectionFailed -= _repair.OnConnectionFailed;
        await _stopping.CancelAsync();
        await _safetyNet;
        await _expiryChecks;
        await _leaseChecks;
        await _subscriptions.DisposeAsync();
        _stopping.Dispose();
    }

    // Subscribed to under the connection's channel prefix, which the connection adds by itself.
    private RedisChannel Channel(StreamKey key, WakeUpPublishing publishing)
    {
        var name = _redisOptions.WakeUpChannelFor(key);
        return publishing == WakeUpPublishing.Sharded ? RedisChannel.Sharded(name) : RedisChannel.Literal(name);
    }

    // Each stream's channel has a handler that knows the stream, so a wake-up's ids are checked, not parsed into strings.
    private async Task SubscribeAsync(StreamKey key) =>
        await _redis.GetSubscriber().SubscribeAsync(Channel(key, await DetectPublishingAsync()),
            _handlers.GetOrAdd(key, static (stream, wakeUps) => (_, message) => wakeUps.OnWakeUp(stream, message), this));

    private async Task UnsubscribeAsync(StreamKey key)
    {
        if (_handlers.TryRemove(key, out var handler))
        {
            await _redis.GetSubscriber().UnsubscribeAsync(Channel(key, await DetectPublishingAsync()), handler);
        }
    }

    // PTTL: the milliseconds the stream has left, -1 for a list without expiry, -2 for one that is gone.
    private async Task<long> RemainingMillisecondsAsync(StreamKey key) =>
        (long)await _failures.Run(key, () => _redis.GetDatabase().ExecuteAsync("PTTL", (RedisKey)_redisOptions.StreamKeyFor(key)));

    private void OnWakeUp(StreamKey stream, RedisValue message)
    {
        _redisMetrics.WakeUpReceived();
        if (WakeUpMessage.Parse((ReadOnlyMemory<byte>)message, stream) is not { } wakeUp)
        {
            return;
        }

        if (wakeUp.Gone)
        {
            Watches.WakeStream(wakeUp.Key);
            return;
        }

        _expiries.Appended(wakeUp.Key);
        _leases?.Appended(wakeUp.Key);
        if (Watches.Find(wakeUp.Key) is { } watched && watched.Holds(wakeUp.Length, wakeUp.StreamId))
        {
            // This node appended them and handed them to its readers already: nothing to decode, no one to wake.
            return;
        }

        Watches.Heard(wakeUp.Key, wakeUp.Length, wakeUp.Carried());
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        // Notifications published while the connection was down are lost: every watch reads again.
        RedisLog.ConnectionRestored(_logger, e.ConnectionType.ToString(), Watches.OpenCount);
        Watches.WakeAll();
    }

    private async Task RunSafetyNetAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(_redisOptions.SafetyNetInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                await CheckWatchedStreamsAsync();
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Disposed.
        }
    }

    /// <summary>One safety-net pass: one LLEN per watched stream, pipelined; wakes the watches whose stream changed.</summary>
    internal async Task CheckWatchedStreamsAsync()
    {
        var keys = Watches.WatchedStreams.ToArray();
        if (keys.Length == 0)
        {
            return;
        }

        _redisMetrics.SafetyNetChecked();
        var database = _redis.GetDatabase();
        var lengths = keys.Select(k => database.ListLengthAsync(_redisOptions.StreamKeyFor(k))).ToArray();
        for (var i = 0; i < keys.Length; i++)
        {
            try
            {
                Watches.Reconcile(keys[i], await lengths[i]);
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
            {
                // Redis is away; the restore of the connection wakes everyone anyway.
                _redisMetrics.Failed();
                RedisLog.SafetyNetCheckFailed(_logger, e.GetType().Name);
                return;
            }
        }
    }
}

/// <summary>How the Redis store publishes its per-stream wake-ups.</summary>
public enum WakeUpPublishing
{
    /// <summary>Classic pub/sub (<c>PUBLISH</c>): older servers, or where sharded pub/sub is refused. In a cluster every node relays it.</summary>
    Classic,

    /// <summary>Sharded pub/sub (<c>SPUBLISH</c>, Redis 7+): in a cluster it stays on the shard that holds the stream.</summary>
    Sharded,
}
