using StackExchange.Redis;

namespace HubStreams.Streams.Redis;

// Wake-ups: every append publishes "{sessionId}:{messageId}:{newLength}" on one channel per deployment;
// each process subscribes once and wakes its own watches of that stream. When several readers of one stream
// wait on this node, it reads the new events once for all of them. Pub/sub is at-most-once, so two safety
// nets catch a lost notification: every watch reads again when a connection is restored, and a slow timer
// checks each watched stream's length with one LLEN (not one per reader) per interval.
public sealed partial class RedisStreamManager
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _subscribeLock = new(1, 1);
    private volatile bool _subscribed;
    private Task _safetyNet = Task.CompletedTask;

    /// <summary>How many safety-net checks have run; each costs one LLEN per watched stream.</summary>
    internal long SafetyNetChecks => Interlocked.Read(ref _safetyNetChecks);

    private long _safetyNetChecks;

    /// <summary>Stops the safety net and the subscription.</summary>
    public async ValueTask DisposeAsync()
    {
        _redis.ConnectionRestored -= OnConnectionRestored;
        await _stopping.CancelAsync();
        await _safetyNet;
        if (_subscribed)
        {
            try
            {
                await _redis.GetSubscriber().UnsubscribeAsync(WakeUpChannel, OnWakeUp);
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
            {
                // The connection is going away with the process; nothing left to release.
            }
        }

        _stopping.Dispose();
        _subscribeLock.Dispose();
    }

    // Subscribed to under the connection's channel prefix, which the connection adds by itself.
    private static readonly RedisChannel WakeUpChannel = RedisChannel.Literal(RedisStreamOptions.WakeUpChannel);

    // Published by the append script, which runs on the server and knows no client-side prefix: the full name.
    private string PublishedWakeUpChannel => _publishedWakeUpChannel ??=
        ConfigurationOptions.Parse(_redis.Configuration).ChannelPrefix is { IsNullOrEmpty: false } scope
            ? scope + RedisStreamOptions.WakeUpChannel
            : RedisStreamOptions.WakeUpChannel;

    private string? _publishedWakeUpChannel;

    private void StartWakeUps()
    {
        _redis.ConnectionRestored += OnConnectionRestored;
        _safetyNet = RunSafetyNetAsync(_stopping.Token);
    }

    private async Task EnsureSubscribedAsync(StreamKey key)
    {
        if (_subscribed)
        {
            return;
        }

        await _subscribeLock.WaitAsync();
        try
        {
            if (!_subscribed)
            {
                await Run(key, async () =>
                {
                    await _redis.GetSubscriber().SubscribeAsync(WakeUpChannel, OnWakeUp);
                    return true;
                });
                _subscribed = true;
            }
        }
        finally
        {
            _subscribeLock.Release();
        }
    }

    private void OnWakeUp(RedisChannel channel, RedisValue message)
    {
        // "{sessionId}:{messageId}:{newLength}": ids never contain ':'.
        var text = (string?)message;
        var parts = text?.Split(':');
        if (parts is not { Length: 3 } || !long.TryParse(parts[2], out var length)
            || !StreamKey.IsValidId(parts[0]) || !StreamKey.IsValidId(parts[1]))
        {
            return;
        }

        var key = StreamKey.Create(parts[0], parts[1]);
        var (offsets, waiting) = _watches.WaitingBelow(key, length);
        if (waiting < 2)
        {
            _watches.NotifyLength(key, length);
            return;
        }

        // Several readers of this stream wait here: read once for all of them instead of once each.
        _ = ReadAheadAndNotifyAsync(key, length, offsets);
    }

    private async Task ReadAheadAndNotifyAsync(StreamKey key, long length, List<long> offsets)
    {
        var pages = new Dictionary<long, StreamPage>();
        try
        {
            foreach (var offset in offsets)
            {
                pages[offset] = await ReadAsync(key, offset, StreamSubscription.PageSize);
            }
        }
        catch (Exception e) when (e is StreamException or RedisException or ObjectDisposedException)
        {
            // Whatever failed, the readers still wake: they read for themselves, and meet the error there.
        }
        finally
        {
            _watches.NotifyLength(key, length, offset => pages.GetValueOrDefault(offset));
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
