using StackExchange.Redis;

namespace HubStreams.Streams.Redis;

// Cluster failover: a primary that dies takes the sharded wake-up subscriptions on it along, and the client keeps
// trying to reconnect to it. Until its replica is promoted and the channels are subscribed there, nothing is heard;
// this moves them, and the streams' watchers read what they missed.
public sealed partial class RedisStreamManager
{
    private static readonly TimeSpan RepairInterval = TimeSpan.FromMilliseconds(500);
    private int _repairing;

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription && Interlocked.Exchange(ref _repairing, 1) == 0)
        {
            _ = RepairSubscriptionsAsync(_stopping.Token);
        }
    }

    /// <summary>
    /// Until no wake-up subscription sits on a lost node: refreshes the cluster's layout when a lost node still owns a
    /// channel's slot, then subscribes again where the slot is now; the streams' watchers read what they missed.
    /// </summary>
    private async Task RepairSubscriptionsAsync(CancellationToken stopping)
    {
        try
        {
            while (true)
            {
                await Task.Delay(RepairInterval, _time, stopping);
                if (!IsCluster() || _subscriptions.Subscribed().Where(IsStranded).ToArray() is not { Length: > 0 } stranded)
                {
                    Volatile.Write(ref _repairing, 0);
                    return;
                }

                var subscriber = _redis.GetSubscriber();
                var publishing = await DetectWakeUpPublishingAsync();
                if (stranded.Any(key => !IsLive(subscriber.IdentifyEndpoint(Channel(key, publishing)))))
                {
                    await _redis.ConfigureAsync();
                }

                _subscriptions.Resubscribe(IsStranded, _watches.WakeStream);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Disposed.
        }
        catch (Exception e) when (e is RedisException or StreamException)
        {
            // Redis is away altogether: the next failure of the subscription connection starts over.
            Volatile.Write(ref _repairing, 0);
        }
    }

    private bool IsCluster() => _redis.GetServers().Any(server => server.ServerType == ServerType.Cluster);

    private bool IsStranded(StreamKey key) =>
        _publishing is { } known && !IsLive(_redis.GetSubscriber().SubscribedEndpoint(Channel(key, known.Result)));

    private bool IsLive(System.Net.EndPoint? endpoint)
    {
        if (endpoint is null)
        {
            return false;
        }

        try
        {
            return _redis.GetServer(endpoint).IsConnected;
        }
        catch (ArgumentException)
        {
            return false; // no longer part of the configuration
        }
    }
}
