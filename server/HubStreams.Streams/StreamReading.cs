using System.Runtime.CompilerServices;

namespace HubStreams.Streams;

/// <summary>The one reader that every transport uses to follow a stream.</summary>
public static class StreamReading
{
    /// <summary>How many events one store read fetches at most.</summary>
    public const int BatchSize = 500;

    /// <summary>
    /// Yields every stored event from <paramref name="fromOffset"/> on, then each new event as it is appended,
    /// and ends right after the <c>complete</c> event. Waits are woken by appends, never by polling.
    /// </summary>
    /// <exception cref="StreamException">An invalid offset, or the stream is unknown or expired at an offset above 0.</exception>
    public static async IAsyncEnumerable<StreamEvent> FollowAsync(
        this IStreamManager manager,
        StreamKey key,
        long fromOffset,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var offset = fromOffset;
        while (true)
        {
            var page = await manager.ReadAsync(key, offset, BatchSize, cancellationToken);
            foreach (var streamEvent in page.Events)
            {
                yield return streamEvent;
                if (streamEvent.IsComplete)
                {
                    yield break;
                }
            }

            offset = page.NextOffset;
            if (page.Events.Count == 0)
            {
                if (page.Completed)
                {
                    // Only reachable when resuming exactly at the end of a completed stream.
                    yield break;
                }

                await manager.WaitAsync(key, offset, cancellationToken);
            }
        }
    }
}
