using System.Runtime.CompilerServices;
using HubStreams.Streams.Watching;

namespace HubStreams.Streams;

/// <summary>
/// The one reader of a stream, which the hub, SSE and the demo enumerate (and whose page read the HTTP page uses): it yields
/// the stored events from an offset, then each new one as it is appended (woken by its watch, never by polling),
/// and ends right after the <c>complete</c> event. While the store is unavailable it waits for it to return
/// (retrying with a capped backoff) instead of failing, so a subscriber rides out a Redis outage.
/// </summary>
/// <remarks>
/// <see cref="OpenAsync(IStreamManager, StreamKey, long, string, CancellationToken)"/> watches first, then reads, so a bad offset or an unknown stream fails before a transport
/// commits to a response, and nothing appended in between is missed. Enumerate it once. Enumerating it to the end,
/// or disposing it, closes its watch. Transports add what surrounds a delivery with <see cref="EndWith"/>,
/// <see cref="ReleaseWith"/> and <see cref="Observer"/>.
/// </remarks>
public sealed class StreamSubscription : IAsyncEnumerable<StreamEvent>, IDisposable
{
    /// <summary>How many events one store read fetches at most.</summary>
    public const int PageSize = 500;

    /// <summary>The longest pause between two reads while the store is unavailable.</summary>
    public static readonly TimeSpan MaxStoreRetryDelay = TimeSpan.FromSeconds(2);

    private readonly IStreamWatch _watch;
    private readonly StreamPage _firstPage;
    private readonly List<(CancellationToken Token, Func<StreamSubscription, StreamException> Error)> _endConditions = [];
    private readonly List<IDisposable> _owned = [];
    private CompactedStreamCache? _keepCompacted;
    private int _disposed;

    private StreamSubscription(StreamKey key, long fromOffset, StreamPage firstPage, IStreamWatch watch)
    {
        Key = key;
        FromOffset = fromOffset;
        NextOffset = fromOffset;
        _firstPage = firstPage;
        _watch = watch;
    }

    /// <summary>The stream followed.</summary>
    public StreamKey Key { get; }

    /// <summary>The first offset asked for.</summary>
    public long FromOffset { get; }

    /// <summary>The offset after the last event delivered: where a resuming client starts.</summary>
    public long NextOffset { get; private set; }

    /// <summary>The identity of the stream followed, once known (a stream that holds nothing yet has none).</summary>
    public string? StreamId { get; private set; }

    /// <summary>How many events were delivered.</summary>
    public long Delivered { get; private set; }

    /// <summary>
    /// Why the enumeration ended: after <c>complete</c>, because its consumer stopped (the client went away), or with the
    /// error that ended it (<c>ServerShuttingDown</c>, <c>StreamNotFound</c>, …).
    /// </summary>
    public SubscriptionEnd EndReason { get; private set; } = SubscriptionEnd.ConsumerGone;

    /// <summary>
    /// Whether the catch-up is compacted: the events stored from <see cref="FromOffset"/> to the stream's end as it is
    /// reached come with their runs of text chunks merged (<see cref="StreamCompaction"/>), then the live events one by
    /// one. Set it before enumerating.
    /// </summary>
    public bool CompactCatchUp { get; set; }

    /// <summary>Told when the enumeration starts, delivers and ends. Set it before enumerating.</summary>
    public IStreamSubscriptionObserver? Observer { get; set; }

    /// <summary>
    /// Opens a subscription at <paramref name="fromOffset"/>: it starts watching the stream, then reads its first page.
    /// </summary>
    /// <exception cref="StreamException">An invalid offset, the stream is unknown or expired at an offset above 0, or the store is unavailable.</exception>
    public static Task<StreamSubscription> OpenAsync(
        IStreamManager manager, StreamKey key, long fromOffset, CancellationToken cancellationToken = default) =>
        OpenAsync(manager, key, fromOffset, streamId: null, cancellationToken);

    /// <summary>
    /// Opens a subscription that resumes the stream identified by <paramref name="streamId"/> (the
    /// <see cref="StreamEvent.StreamId"/> the reader saw): if the stream was lost and created again since, it is refused
    /// with <see cref="StreamErrorCode.StreamReset"/> instead of serving another stream's events under the same offsets.
    /// </summary>
    /// <exception cref="StreamException">As <see cref="OpenAsync(IStreamManager, StreamKey, long, CancellationToken)"/>, or <see cref="StreamErrorCode.StreamReset"/>.</exception>
    public static async Task<StreamSubscription> OpenAsync(
        IStreamManager manager, StreamKey key, long fromOffset, string? streamId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manager);
        StreamRules.ValidateOffset(fromOffset);
        var watch = await manager.WatchAsync(key, cancellationToken);
        try
        {
            var firstPage = await ReadIdentifiedAsync(manager, key, streamId, () => watch.ReadAsync(fromOffset, PageSize, cancellationToken), cancellationToken);
            return new StreamSubscription(key, fromOffset, firstPage, watch) { StreamId = firstPage.StreamId ?? streamId };
        }
        catch
        {
            watch.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Opens a subscription whose catch-up comes compacted (<see cref="CompactCatchUp"/>). A completed stream that
    /// <paramref name="cache"/> holds is served from it once a read at the stream's end finds it the same (completed, of
    /// the length and identity held); a catch-up from offset 0 that reaches the end of a completed stream is kept there
    /// for the next reader.
    /// </summary>
    /// <exception cref="StreamException">As <see cref="OpenAsync(IStreamManager, StreamKey, long, string, CancellationToken)"/>.</exception>
    public static async Task<StreamSubscription> OpenCompactedAsync(
        IStreamManager manager, StreamKey key, long fromOffset, string? streamId, CompactedStreamCache cache, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentNullException.ThrowIfNull(cache);
        StreamRules.ValidateOffset(fromOffset);
        if (cache.Find(key, fromOffset) is var (entry, events) && (streamId is null || streamId == entry.StreamId))
        {
            var watch = await manager.WatchAsync(key, cancellationToken);
            try
            {
                var end = await watch.ReadAsync(entry.Length, 1, cancellationToken);
                if (cache.StillHolds(entry, end))
                {
                    var held = new StreamPage(events, entry.Length, Completed: true) { ReachedEnd = true, Length = entry.Length, StreamId = entry.StreamId };
                    return new StreamSubscription(key, fromOffset, held, watch) { StreamId = entry.StreamId };
                }
            }
            catch (StreamException)
            {
                // Deleted, expired, or the store is away: the read from the store says which.
                cache.Forget(key);
            }
            catch
            {
                watch.Dispose();
                throw;
            }

            watch.Dispose();
        }

        var subscription = await OpenAsync(manager, key, fromOffset, streamId, cancellationToken);
        subscription.CompactCatchUp = true;
        subscription._keepCompacted = fromOffset == 0 ? cache : null;
        return subscription;
    }

    /// <summary>
    /// Reads one page of at most <paramref name="maxCount"/> events from <paramref name="fromOffset"/>, under the same
    /// rules as a subscription's reads: the HTTP page read (the original design's <c>GetEvents</c>).
    /// </summary>
    /// <exception cref="StreamException">An invalid offset, the stream is unknown or expired at an offset above 0, or the store is unavailable.</exception>
    /// <exception cref="StreamException"><see cref="StreamErrorCode.StreamReset"/> when <paramref name="streamId"/> is given and is not the stream's.</exception>
    public static async Task<StreamPage> ReadPageAsync(
        IStreamManager manager, StreamKey key, long fromOffset, int maxCount, string? streamId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manager);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        return await ReadIdentifiedAsync(manager, key, streamId, () => manager.ReadAsync(key, fromOffset, maxCount, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Reads a page for a reader that presents <paramref name="streamId"/>, refusing another stream's with
    /// <see cref="StreamErrorCode.StreamReset"/>. A stream created again may be shorter than where the reader was, so
    /// an offset past its end asks the stream's identity too: the reader is told the stream is another one, not that
    /// its offset is wrong.
    /// </summary>
    private static async Task<StreamPage> ReadIdentifiedAsync(
        IStreamManager manager, StreamKey key, string? streamId, Func<Task<StreamPage>> read, CancellationToken cancellationToken)
    {
        try
        {
            var page = await read();
            StreamRules.EnsureSameStream(key, streamId, page.StreamId);
            return page;
        }
        catch (StreamException e) when (e.Code == StreamErrorCode.OffsetBeyondEnd && streamId is not null)
        {
            var start = await manager.ReadAsync(key, 0, 1, cancellationToken);
            StreamRules.EnsureSameStream(key, streamId, start.StreamId);
            throw;
        }
    }

    /// <summary>
    /// Ends the enumeration with the error <paramref name="error"/> makes once <paramref name="signal"/> is cancelled
    /// (the server stopping, or a timer at a token's expiry). Conditions are checked in the order they were added.
    /// </summary>
    public void EndWith(Func<StreamSubscription, StreamException> error, CancellationToken signal) => _endConditions.Add((signal, error));

    /// <summary>Disposes <paramref name="resource"/> (a place in a cap, say) when the subscription is disposed or its enumeration ends.</summary>
    public void ReleaseWith(IDisposable resource) => _owned.Add(resource);

    /// <summary>
    /// Closes the watch and releases what the subscription holds, for a subscription that is given up before or while
    /// it is enumerated. Enumerating it to the end does the same.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _watch.Dispose();
        _owned.ForEach(resource => resource.Dispose());
    }

    /// <inheritdoc />
    public async IAsyncEnumerator<StreamEvent> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        using var subscription = this;
        using var ending = CancellationTokenSource.CreateLinkedTokenSource([cancellationToken, .. _endConditions.Select(c => c.Token)]);
        Observer?.OnStarted(this);
        try
        {
            var page = _firstPage;
            var compaction = CompactCatchUp ? new StreamCompaction() : null;
            var compacted = compaction is not null && _keepCompacted is not null ? new List<StreamEvent>() : null;
            while (true)
            {
                // Compacted up to the first page that reaches the end; what follows is live, one event at a time.
                IReadOnlyList<StreamEvent> events = compaction?.Add(page.Events, last: page.ReachedEnd) ?? page.Events;
                compacted?.AddRange(events);
                if (page.ReachedEnd)
                {
                    if (compacted is not null && page.Finished && StreamId is not null)
                    {
                        // The whole of a completed stream, compacted from offset 0: the next late joiner needs no more.
                        _keepCompacted!.Remember(new CompactedStreamCache.Entry(Key, StreamId, page.Length, compacted));
                    }

                    compaction = null;
                    compacted = null;
                }

                foreach (var streamEvent in events)
                {
                    yield return streamEvent;
                    NextOffset = streamEvent.Offset + 1;
                    Delivered++;
                    Observer?.OnDelivered(this, streamEvent);

                    // A consumer that was cancelled (a client SignalR aborted, say) may still ask for more: it gets none.
                    ThrowIfEnded(ending.Token, cancellationToken);
                    if (streamEvent.IsComplete)
                    {
                        EndReason = SubscriptionEnd.Completed;
                        yield break;
                    }
                }

                if (events.Count == 0 && page.Finished)
                {
                    // Only reachable when resuming exactly at the end of a completed stream.
                    EndReason = SubscriptionEnd.Completed;
                    yield break;
                }

                // Between pages of a catch-up, let a cancellation that is on its way (a consumer SignalR aborted) land
                // before reading on. At the end of the stream the wait for the next event does that.
                if (!page.ReachedEnd)
                {
                    await Task.Yield();
                }

                ThrowIfEnded(ending.Token, cancellationToken);
                page = await NextPageAsync(page, ending.Token, cancellationToken);
            }
        }
        finally
        {
            Observer?.OnEnded(this);
        }
    }

    // Awaited once for each live event: its state machine comes from a pool rather than being allocated each time.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<StreamPage> NextPageAsync(StreamPage page, CancellationToken ending, CancellationToken consumer)
    {
        try
        {
            // The watch began before the read, so when the read reached the end, the watch knows of anything since.
            if (page.Events.Count == 0 || page.ReachedEnd)
            {
                await _watch.WaitAsync(page.NextOffset, ending);
            }

            var next = await ReadWhenAvailableAsync(page.NextOffset, ending);

            // A stream lost and created again while followed is not the one this reader was given.
            StreamRules.EnsureSameStream(Key, StreamId, next.StreamId);
            StreamId ??= next.StreamId;
            return next;
        }
        catch (OperationCanceledException) when (!consumer.IsCancellationRequested && EndingError() is { } error)
        {
            EndReason = SubscriptionEnd.Failed(error.Code);
            throw error;
        }
        catch (StreamException e)
        {
            EndReason = SubscriptionEnd.Failed(e.Code);
            throw;
        }
    }

    private void ThrowIfEnded(CancellationToken ending, CancellationToken consumer)
    {
        if (!ending.IsCancellationRequested)
        {
            return;
        }

        if (!consumer.IsCancellationRequested && EndingError() is { } error)
        {
            EndReason = SubscriptionEnd.Failed(error.Code);
            throw error;
        }

        consumer.ThrowIfCancellationRequested();
    }

    private StreamException? EndingError()
    {
        foreach (var (token, error) in _endConditions)
        {
            if (token.IsCancellationRequested)
            {
                return error(this);
            }
        }

        return null;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<StreamPage> ReadWhenAvailableAsync(long offset, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                return await _watch.ReadAsync(offset, PageSize, cancellationToken);
            }
            catch (StreamException e) when (e.Code == StreamErrorCode.StoreUnavailable)
            {
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxStoreRetryDelay.Ticks));
            }
        }
    }
}

/// <summary>Why a <see cref="StreamSubscription"/>'s enumeration ended; its text is the word logs show.</summary>
public readonly record struct SubscriptionEnd
{
    private SubscriptionEnd(SubscriptionEndKind kind, StreamErrorCode? error) => (Kind, Error) = (kind, error);

    /// <summary>It delivered <c>complete</c>: <c>completed</c>.</summary>
    public static SubscriptionEnd Completed { get; } = new(SubscriptionEndKind.Completed, null);

    /// <summary>Its consumer stopped enumerating (the client went away): <c>client_gone</c>.</summary>
    public static SubscriptionEnd ConsumerGone { get; } = new(SubscriptionEndKind.ConsumerGone, null);

    /// <summary>It ended with the error <paramref name="code"/>: the code's name.</summary>
    public static SubscriptionEnd Failed(StreamErrorCode code) => new(SubscriptionEndKind.Error, code);

    /// <summary>Which of the three it is.</summary>
    public SubscriptionEndKind Kind { get; }

    /// <summary>The error that ended it, for <see cref="SubscriptionEndKind.Error"/>.</summary>
    public StreamErrorCode? Error { get; }

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        SubscriptionEndKind.Completed => "completed",
        SubscriptionEndKind.ConsumerGone => "client_gone",
        _ => Error.ToString()!,
    };
}

/// <summary>The kinds of <see cref="SubscriptionEnd"/>.</summary>
public enum SubscriptionEndKind
{
    /// <summary>After <c>complete</c>.</summary>
    Completed,

    /// <summary>Its consumer stopped.</summary>
    ConsumerGone,

    /// <summary>An error ended it.</summary>
    Error,
}
