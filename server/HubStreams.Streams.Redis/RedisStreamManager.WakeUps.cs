using StackExchange.Redis;

namespace HubStreams.Streams.Redis;

// Wake-ups: every append call publishes "{sessionId}:{messageId}:{newLength}" on its stream's own channel, with the
// events it stored when they are small (see WakeUpMessage), and a process subscribes to a stream's channel only while
// it has a watcher of that stream (WakeUpSubscriptions), so a node hears only about the streams its readers follow.
// On Redis 7 and later the publish is sharded (SPUBLISH): in a cluster it stays on the shard that holds the stream.
// A reader that is caught up, or a few events behind, takes the new events from the wake-up or from the events the
// node keeps, decoded once for every reader of the node, and reads nothing; when several readers wait further behind,
// the node reads once for all of them. The wake-up stays a hint: pub/sub is at-most-once, so two safety nets catch a
// lost one: every watch reads again when a connection is restored, and a slow timer checks each watched stream's
// length with one LLEN (not one per reader) per interval. A watched stream's expiry reaches its readers through
// StreamExpiryChecks, which knows from the wake-ups when each stream expires.
public sealed partial class RedisStreamManager
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly WakeUpSubscriptions _subscriptions;
    private readonly SemaphoreSlim _detecting = new(1, 1);
    private volatile Task<WakeUpPublishing>? _publishing;
    private string? _channelScope;
    private Task _safetyNet = Task.CompletedTask;
    private readonly StreamExpiryChecks _expiries;
    private Task _expiryChecks = Task.CompletedTask;

    /// <summary>How many safety-net checks have run; each costs one LLEN per watched stream.</summary>
    internal long SafetyNetChecks => Interlocked.Read(ref _safetyNetChecks);

    /// <summary>How many wake-up channels this process is subscribed to: one per stream it watches.</summary>
    internal int SubscribedChannels => _subscriptions.Subscribed().Length;

    /// <summary>How many batches of subscribe and unsubscribe commands this process has sent.</summary>
    internal long SubscriptionBatches => _subscriptions.Batches;

    private long _safetyNetChecks;

    /// <summary>
    /// How appends publish their wake-ups on this Redis, found on first use (the server asks at start-up): sharded
    /// (<c>SPUBLISH</c>) where the server has it and takes it, else classic <c>PUBLISH</c>. Every node of a farm
    /// finds the same answer on the same Redis, so publishers and subscribers agree.
    /// </summary>
    /// <exception cref="StreamException">No Redis server answers (<see cref="StreamErrorCode.StoreUnavailable"/>).</exception>
    public async ValueTask<WakeUpPublishing> DetectWakeUpPublishingAsync()
    {
        if (_publishing is { } known)
        {
            return known.Result;
        }

        await _detecting.WaitAsync();
        try
        {
            _publishing ??= Task.FromResult(await DetectAsync());
            return _publishing.Result;
        }
        finally
        {
            _detecting.Release();
        }
    }

    private async Task<WakeUpPublishing> DetectAsync()
    {
        var server = _redis.GetServers().FirstOrDefault(s => s.IsConnected);
        if (server is null)
        {
            _metrics.RedisFailed();
            throw new StreamException(StreamErrorCode.StoreUnavailable,
                "The stream store (Redis) is unavailable: no Redis server is connected. Try again shortly.");
        }

        var publishing = WakeUpPublishing.Classic;
        if (server.Features.ShardedPubSub)
        {
            try
            {
                // The version says yes; the server must also take it (a proxy or an ACL can refuse the command).
                await _redis.GetSubscriber().PublishAsync(RedisChannel.Sharded("probe:{" + _redisOptions.Prefix + "}"), "");
                publishing = WakeUpPublishing.Sharded;
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException || IsPassing(e))
            {
                // No answer yet (Redis away, or still loading its data): ask again on the next use, never guess.
                throw Unavailable(null, e);
            }
            catch (RedisServerException e)
            {
                Log.ShardedPubSubRefused(_logger, e.Message);
            }
        }

        Log.WakeUpPublishing(_logger, publishing == WakeUpPublishing.Sharded ? "sharded pub/sub (SPUBLISH)" : "classic pub/sub (PUBLISH)",
            server.Version.ToString());
        return publishing;
    }

    /// <summary>Stops the safety net and every subscription.</summary>
    public async ValueTask DisposeAsync()
    {
        _redis.ConnectionRestored -= OnConnectionRestored;
        _redis.ConnectionFailed -= OnConnectionFailed;
        await _stopping.CancelAsync();
        await _safetyNet;
        await _expiryChecks;
        await _subscriptions.DisposeAsync();
        _stopping.Dispose();
        _detecting.Dispose();
    }

    // Subscribed to under the connection's channel prefix, which the connection adds by itself.
    private RedisChannel Channel(StreamKey key, WakeUpPublishing publishing)
    {
        var name = _redisOptions.WakeUpChannelFor(key);
        return publishing == WakeUpPublishing.Sharded ? RedisChannel.Sharded(name) : RedisChannel.Literal(name);
    }

    // Published by the append script, which runs on the server and knows no client-side prefix: the full name.
    private string PublishedChannel(StreamKey key) => (_channelScope ??=
        ConfigurationOptions.Parse(_redis.Configuration).ChannelPrefix is { IsNullOrEmpty: false } scope ? scope.ToString() : "")
        + _redisOptions.WakeUpChannelFor(key);

    private void StartWakeUps()
    {
        _redis.ConnectionRestored += OnConnectionRestored;
        _redis.ConnectionFailed += OnConnectionFailed;
        _safetyNet = RunSafetyNetAsync(_stopping.Token);
        _expiryChecks = _expiries.RunAsync(_stopping.Token);
    }

    private async Task SubscribeAsync(StreamKey key) =>
        await _redis.GetSubscriber().SubscribeAsync(Channel(key, await DetectWakeUpPublishingAsync()), OnWakeUp);

    private async Task UnsubscribeAsync(StreamKey key) =>
        await _redis.GetSubscriber().UnsubscribeAsync(Channel(key, await DetectWakeUpPublishingAsync()), OnWakeUp);

    private void OnWakeUp(RedisChannel channel, RedisValue message)
    {
        _metrics.WakeUpReceived();
        if (WakeUpMessage.Parse((ReadOnlyMemory<byte>)message) is not { } wakeUp)
        {
            return;
        }

        // A reader waiting at an offset the wake-up carries, or that this node holds from earlier ones (a reader that
        // is caught up, or just behind), takes its page from there.
        var key = wakeUp.Key;
        var length = wakeUp.Length;
        _expiries.Appended(key);
        var maxCount = Math.Min(StreamSubscription.PageSize, _options.MaxPageEvents);
        _watches.Remember(key, wakeUp.PageAt(wakeUp.FirstCarriedOffset, int.MaxValue));
        StreamPage? Held(long offset) => wakeUp.PageAt(offset, maxCount) ?? _watches.RecentPage(key, offset, maxCount);

        var (offsets, waiting) = _watches.WaitingBelow(key, length);
        var uncovered = offsets.Where(offset => Held(offset) is null).ToList();
        if (uncovered.Count == 0 || waiting < 2)
        {
            _watches.NotifyLength(key, length, Held);
            return;
        }

        // Several readers of this stream wait here further behind: read once for all of them, not once each.
        _ = ReadAheadAndNotifyAsync(key, length, uncovered, Held);
    }

    private async Task ReadAheadAndNotifyAsync(StreamKey key, long length, List<long> offsets, Func<long, StreamPage?> held)
    {
        var pages = new Dictionary<long, StreamPage>();
        try
        {
            foreach (var offset in offsets)
            {
                pages[offset] = await _watches.ReadAsync(key, offset, StreamSubscription.PageSize, CancellationToken.None);
            }
        }
        catch (Exception e) when (e is StreamException or RedisException or ObjectDisposedException)
        {
            // Whatever failed, the readers still wake: they read for themselves, and meet the error there.
        }
        finally
        {
            _watches.NotifyLength(key, length, offset => pages.GetValueOrDefault(offset) ?? held(offset));
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        // Notifications published while the connection was down are lost: every watch reads again.
        Log.ConnectionRestored(_logger, e.ConnectionType.ToString(), _watches.OpenCount);
        _watches.WakeAll();
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
        var keys = _watches.WatchedStreams.ToArray();
        if (keys.Length == 0)
        {
            return;
        }

        Interlocked.Increment(ref _safetyNetChecks);
        _metrics.SafetyNetChecked();
        var database = Database;
        var lengths = keys.Select(k => database.ListLengthAsync(_redisOptions.StreamKeyFor(k))).ToArray();
        for (var i = 0; i < keys.Length; i++)
        {
            try
            {
                _watches.Reconcile(keys[i], await lengths[i]);
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
            {
                // Redis is away; the restore of the connection wakes everyone anyway.
                _metrics.RedisFailed();
                Log.SafetyNetCheckFailed(_logger, e.GetType().Name);
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
