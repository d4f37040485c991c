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
        RedisStreamManager redis => redis.OpenWatchCount,
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

/// <summary>Metrics for a stream manager built outside a host: a meter factory of its own.</summary>
public static class TestMetrics
{
    private static readonly IMeterFactory Factory = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();

    public static StreamMetrics Create() => new(Factory);
}
