using System.Runtime.CompilerServices;

namespace HubStreams.Streams;

/// <summary>The one reader that every transport uses to follow a stream.</summary>
public static class StreamReading
{
    /// <summary>How many events one store read fetches at most.</summary>
    public const int BatchSize = 500;

    /// <summary>
    /// Opens a subscription at <paramref name="fromOffset"/>: it starts watching the stream, then reads, so a bad
    /// offset or an unknown stream fails here, before a transport commits to a response.
    /// </summary>
    /// <exception cref="StreamException">An invalid offset, or the stream is unknown or expired at an offset above 0.</exception>
    public static async Task<StreamSubscription> SubscribeAsync(
        this IStreamManager manager, StreamKey key, long fromOffset, CancellationToken cancellationToken = default)
    {
        var watch = await manager.WatchAsync(key, cancellationToken);
        try
        {
            var firstPage = await manager.ReadAsync(key, fromOffset, BatchSize, cancellationToken);
            return new StreamSubscription(manager, key, firstPage, watch);
        }
        catch
        {
            watch.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Yields every stored event from <paramref name="fromOffset"/> on, then each new event as it is appended,
    /// and ends right after the <c>complete</c> event. Errors of the first read surface on the first move.
    /// </summary>
    public static async IAsyncEnumerable<StreamEvent> FollowAsync(
        this IStreamManager manager,
        StreamKey key,
        long fromOffset,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var subscription = await manager.SubscribeAsync(key, fromOffset, cancellationToken);
        await foreach (var streamEvent in subscription.WithCancellation(cancellationToken))
        {
            yield return streamEvent;
        }
    }

    /// <summary>
    /// Waits, without polling, until the stream holds an event at <paramref name="offset"/> or is completed
    /// before it; returns at once when it already does. A reader of a missing stream at offset 0 waits for its
    /// first event.
    /// </summary>
    /// <exception cref="StreamException">An invalid offset, or the stream is unknown or expired at an offset above 0.</exception>
    public static async Task WaitForEventAsync(this IStreamManager manager, StreamKey key, long offset, CancellationToken cancellationToken)
    {
        using var watch = await manager.WatchAsync(key, cancellationToken);
        while (true)
        {
            var page = await manager.ReadAsync(key, offset, 1, cancellationToken);
            if (page.Events.Count > 0 || page.Completed)
            {
                return;
            }

            await watch.WaitAsync(offset, cancellationToken);
        }
    }
}

/// <summary>
/// A reader's position in one stream: yields the stored events, then each new one as it is appended
/// (woken by its watch, never by polling), and ends right after the <c>complete</c> event. While the store
/// is unavailable it waits for it to return (retrying with a capped backoff) instead of failing, so a
/// subscriber rides out a Redis outage on the same connection. Enumerate it once; enumerating it to the
/// end, or disposing it, closes its watch.
/// </summary>
public sealed class StreamSubscription : IAsyncEnumerable<StreamEvent>, IDisposable
{
    private readonly IStreamManager _manager;
    private readonly StreamPage _firstPage;
    private readonly IStreamWatch _watch;

    internal StreamSubscription(IStreamManager manager, StreamKey key, StreamPage firstPage, IStreamWatch watch)
    {
        _manager = manager;
        _firstPage = firstPage;
        _watch = watch;
        Key = key;
    }

    /// <summary>The stream followed.</summary>
    public StreamKey Key { get; }

    /// <summary>Closes the watch, for a subscription that is given up before or while it is enumerated.</summary>
    public void Dispose() => _watch.Dispose();

    /// <summary>The longest pause between two reads while the store is unavailable.</summary>
    public static readonly TimeSpan MaxStoreRetryDelay = TimeSpan.FromSeconds(2);

    /// <inheritdoc />
    public async IAsyncEnumerator<StreamEvent> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        using var watch = _watch;
        var page = _firstPage;
        while (true)
        {
            foreach (var streamEvent in page.Events)
            {
                yield return streamEvent;
                if (streamEvent.IsComplete)
                {
                    yield break;
                }
            }

            if (page.Events.Count == 0 && page.Completed)
            {
                // Only reachable when resuming exactly at the end of a completed stream.
                yield break;
            }

            // The watch began before the read, so when the read reached the end, the watch knows of anything since.
            var readAhead = page.Events.Count == 0 || page.ReachedEnd
                ? await watch.WaitAsync(page.NextOffset, cancellationToken)
                : null;
            page = readAhead ?? await ReadWhenAvailableAsync(page.NextOffset, cancellationToken);
        }
    }

    private async Task<StreamPage> ReadWhenAvailableAsync(long offset, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                return await _manager.ReadAsync(Key, offset, StreamReading.BatchSize, cancellationToken);
            }
            catch (StreamException e) when (e.Code == StreamErrorCode.StoreUnavailable)
            {
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxStoreRetryDelay.Ticks));
            }
        }
    }
}
