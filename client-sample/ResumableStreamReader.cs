using System.Runtime.CompilerServices;
using HubStreams.Contracts;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.ClientSample;

/// <summary>What a <see cref="ResumableStreamReader"/> is doing, for display.</summary>
/// <param name="State">connecting, connected, reconnecting or resumed.</param>
/// <param name="NextOffset">The offset the reader asks for next.</param>
/// <param name="Detail">Why it reconnects, when it does.</param>
public sealed record ReaderStatus(string State, long NextOffset, string? Detail = null);

/// <summary>The stream cannot be read, and retrying will not change that (it expired, or never existed).</summary>
public sealed class StreamUnreadableException(string message, Exception innerException) : Exception(message, innerException);

/// <summary>
/// Follows one stream through the hub at <c>/hubs/streams</c> and survives anything that is not final:
/// a dropped connection, the server going away and coming back, another node taking over, the store being
/// briefly unavailable. Each time it connects again, with a capped exponential backoff, and asks for the
/// offset after the last event it yielded, so every event comes exactly once, in order, until <c>complete</c>.
/// Given several hub addresses (nodes of a farm without a balancer), it moves to the next one after a failure.
/// </summary>
public sealed class ResumableStreamReader(IReadOnlyList<Uri> hubUrls, string sessionId, string messageId)
{
    /// <summary>A reader of one hub address (a single node, or a farm's balancer).</summary>
    public ResumableStreamReader(Uri hubUrl, string sessionId, string messageId)
        : this([hubUrl], sessionId, messageId)
    {
    }

    /// <summary>The first pause before connecting again; it doubles on each failure in a row.</summary>
    public TimeSpan InitialRetryDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest pause between two attempts.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Called whenever the reader connects, loses its connection or resumes.</summary>
    public Action<ReaderStatus>? StatusChanged { get; init; }

    /// <summary>Events received again after a resume and not yielded; a correct server sends none.</summary>
    public long SkippedDuplicates { get; private set; }

    /// <summary>The hub address in use, or tried next.</summary>
    public Uri CurrentHubUrl => hubUrls[_urlIndex];

    private int _urlIndex;

    /// <summary>The offset the reader asks for next: the offset after the last event yielded.</summary>
    public long NextOffset { get; private set; }

    /// <summary>
    /// Yields every event from <paramref name="fromOffset"/> to <c>complete</c>, each exactly once, resuming
    /// across drops. Ends normally after <c>complete</c>.
    /// </summary>
    /// <exception cref="StreamUnreadableException">The stream expired, never existed, or the request is invalid.</exception>
    public async IAsyncEnumerable<StreamEvent> ReadAsync(long fromOffset = 0, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fromOffset);
        ArgumentOutOfRangeException.ThrowIfZero(hubUrls.Count);
        NextOffset = fromOffset;
        var failures = 0;
        var resumed = false;
        while (true)
        {
            if (!resumed)
            {
                StatusChanged?.Invoke(new ReaderStatus("connecting", NextOffset));
            }
            var connection = new HubConnectionBuilder().WithUrl(CurrentHubUrl).Build();
            Exception? failure = null;
            try
            {
                try
                {
                    await connection.StartAsync(cancellationToken);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    failure = e;
                }

                if (failure is null)
                {
                    StatusChanged?.Invoke(new ReaderStatus(resumed ? "resumed" : "connected", NextOffset));
                    var events = connection.StreamAsync<StreamEvent>("StreamEvents", sessionId, messageId, NextOffset, cancellationToken)
                        .GetAsyncEnumerator(cancellationToken);
                    try
                    {
                        while (true)
                        {
                            bool more;
                            try
                            {
                                more = await events.MoveNextAsync();
                            }
                            catch (HubException e) when (IsFinal(e))
                            {
                                throw new StreamUnreadableException($"Stream {sessionId}/{messageId} cannot be read: {e.Message}", e);
                            }
                            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                            {
                                failure = e;
                                break;
                            }

                            if (!more)
                            {
                                // Ended before 'complete': the server is going away. Resume elsewhere.
                                failure = new IOException("The server ended the stream before its 'complete' event.");
                                break;
                            }

                            var streamEvent = events.Current;
                            if (streamEvent.Offset < NextOffset)
                            {
                                SkippedDuplicates++;
                                continue;
                            }

                            if (streamEvent.Offset > NextOffset)
                            {
                                throw new InvalidOperationException(
                                    $"The server sent offset {streamEvent.Offset} when {NextOffset} was asked for: events would be lost.");
                            }

                            NextOffset = streamEvent.Offset + 1;
                            failures = 0;
                            yield return streamEvent;
                            if (streamEvent.IsComplete)
                            {
                                yield break;
                            }
                        }
                    }
                    finally
                    {
                        await events.DisposeAsync().AsTask().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    }
                }
            }
            finally
            {
                await connection.DisposeAsync();
            }

            resumed = true;
            _urlIndex = (_urlIndex + 1) % hubUrls.Count;
            // A node that is shutting down says so: go to another one at once.
            var delay = failure is HubException { Message: var text } && text.Contains("ServerShuttingDown:", StringComparison.Ordinal)
                ? TimeSpan.Zero
                : TimeSpan.FromTicks(Math.Min(MaxRetryDelay.Ticks, InitialRetryDelay.Ticks << Math.Min(failures++, 16)));
            StatusChanged?.Invoke(new ReaderStatus("reconnecting", NextOffset, failure?.Message));
            await Task.Delay(delay, cancellationToken);
        }
    }

    // The hub puts the error code in front of its message; the shared table says whether retrying can help.
    private static bool IsFinal(HubException e) => StreamErrors.FromMessage(e.Message) is { } code && StreamErrors.Describe(code).IsFinal;
}
