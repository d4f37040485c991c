using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Streams.Memory;
using HubStreams.Streams.Redis;
using Microsoft.Extensions.DependencyInjection;

namespace HubStreams.Tests.Fixtures;

/// <summary>What tests look at inside a stream manager, and the small ways they follow one.</summary>
public static class StreamManagerProbes
{
    /// <summary>The number of open watches: one per reader following a stream on this process.</summary>
    public static int OpenWatches(this IStreamManager manager) => manager switch
    {
        MemoryStreamManager memory => memory.OpenWatchCount,
        RedisStreamManager redis => redis.Watches.OpenCount,
        _ => throw new ArgumentException($"Unknown stream manager {manager.GetType().Name}.", nameof(manager)),
    };

    /// <summary>
    /// Waits, without polling, until the stream holds an event at <paramref name="offset"/> or is completed before it:
    /// watch, read, wait on the watch, read again.
    /// </summary>
    public static async Task WaitForEventAsync(this IStreamManager manager, StreamKey key, long offset, CancellationToken cancellationToken)
    {
        using var watch = await manager.WatchAsync(key, cancellationToken);
        while (true)
        {
            var page = await watch.ReadAsync(offset, 1, cancellationToken);
            if (page.Events.Count > 0 || page.Completed)
            {
                return;
            }

            await watch.WaitAsync(offset, cancellationToken);
        }
    }

    /// <summary>Every event from <paramref name="fromOffset"/> to <c>complete</c>, through the one reader.</summary>
    public static async IAsyncEnumerable<StreamEvent> FollowAsync(
        this IStreamManager manager, StreamKey key, long fromOffset, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var subscription = await StreamSubscription.OpenAsync(manager, key, fromOffset, cancellationToken);
        await foreach (var streamEvent in subscription.WithCancellation(cancellationToken))
        {
            yield return streamEvent;
        }
    }
}

/// <summary>What tests look at inside the Redis store: what its node knows of a stream, and its counters.</summary>
public static class RedisStreamManagerProbes
{
    extension(RedisStreamManager manager)
    {
        /// <summary>How many wake-up channels the store is subscribed to: one per stream it watches.</summary>
        public int SubscribedChannels => manager.Metrics.SubscribedChannels;

        /// <summary>How many batches of subscribe and unsubscribe commands it has sent.</summary>
        public long SubscriptionBatches => manager.Metrics.SubscriptionBatches;

        /// <summary>How many safety-net passes have run.</summary>
        public long SafetyNetChecks => manager.Metrics.SafetyNetChecks;

        /// <summary>How many page reads it has sent to Redis.</summary>
        public long ReadsSent => manager.Metrics.Reads;

        /// <summary>The length of <paramref name="key"/> as the node last heard it (0 when no one there watches it).</summary>
        public long KnownLength(StreamKey key) => manager.Watches.Find(key)?.KnownLength ?? 0;

        /// <summary>How many watches of <paramref name="key"/> wait on the node right now for the event at <paramref name="offset"/>.</summary>
        public int WaitingWatches(StreamKey key, long offset) => manager.Watches.Find(key)?.Waiting().GetValueOrDefault(offset) ?? 0;
    }
}

/// <summary>Metrics for a stream manager built outside a host: a meter factory of its own.</summary>
public static class TestMetrics
{
    private static readonly IMeterFactory Factory = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();

    public static StreamMetrics Create() => new(Factory);
}
