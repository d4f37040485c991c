using StackExchange.Redis;

namespace HubStreams.Streams.Redis;

/// <summary>
/// Cluster failover for the wake-up subscriptions. A primary that dies takes the sharded subscriptions on it along, and
/// the client keeps trying to reconnect to it: until its replica is promoted and the channels are subscribed there,
/// nothing is heard. When the subscription connection fails, this repairs until no subscription sits on a lost node:
/// it refreshes the cluster's layout while a lost node still owns a channel's slot, then subscribes again where the slot
/// is now, and the streams' watchers read what they missed.
/// </summary>
/// <param name="redis">The connection whose subscription connection is watched.</param>
/// <param name="subscriptions">The node's wake-up subscriptions.</param>
/// <param name="knownPublishing">How wake-ups are published, once known: no channel is subscribed before.</param>
/// <param name="channel">A stream's wake-up channel, as subscribed.</param>
/// <param name="wakeStream">Wakes a stream's watchers to read what they may have missed.</param>
/// <param name="time">The clock of the repair's pauses.</param>
/// <param name="stopping">Stops a repair under way.</param>
internal sealed class StrandedSubscriptionRepair(
    IConnectionMultiplexer redis, WakeUpSubscriptions subscriptions, Func<WakeUpPublishing?> knownPublishing,
    Func<StreamKey, WakeUpPublishing, RedisChannel> channel, Action<StreamKey> wakeStream, TimeProvider time, CancellationToken stopping)
{
    private static readonly TimeSpan RepairInterval = TimeSpan.FromMilliseconds(500);

    private int _repairing;

    /// <summary>The connection's failure event: a failed subscription connection starts one repair, if none is under way.</summary>
    public void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription && Interlocked.Exchange(ref _repairing, 1) == 0)
        {
            _ = RepairAsync();
        }
    }

    private async Task RepairAsync()
    {
        try
        {
            while (true)
            {
                await Task.Delay(RepairInterval, time, stopping);
                if (!IsCluster() || knownPublishing() is not { } publishing
                    || subscriptions.Subscribed().Where(key => IsStranded(key, publishing)).ToArray() is not { Length: > 0 } stranded)
                {
                    Volatile.Write(ref _repairing, 0);
                    return;
                }

                var subscriber = redis.GetSubscriber();
                if (stranded.Any(key => !IsLive(subscriber.IdentifyEndpoint(channel(key, publishing)))))
                {
                    await redis.ConfigureAsync();
                }

                subscriptions.Resubscribe(key => IsStranded(key, publishing), wakeStream);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Disposed.
        }
        catch (RedisException)
        {
            // Redis is away altogether: the next failure of the subscription connection starts over.
            Volatile.Write(ref _repairing, 0);
        }
    }

    private bool IsCluster() => redis.GetServers().Any(server => server.ServerType == ServerType.Cluster);

    private bool IsStranded(StreamKey key, WakeUpPublishing publishing) =>
        !IsLive(redis.GetSubscriber().SubscribedEndpoint(channel(key, publishing)));

    private bool IsLive(System.Net.EndPoint? endpoint)
    {
        if (endpoint is null)
        {
            return false;
        }

        try
        {
            return redis.GetServer(endpoint).IsConnected;
        }
        catch (ArgumentException)
        {
            return false; // no longer part of the configuration
        }
    }
}
