using System.Diagnostics;
using HubStreams.Streams;

namespace HubStreams.Server.Transport;

/// <summary>
/// Hands one subscription to one client, the same way for the hub and for SSE: refuses new subscriptions
/// once the server is shutting down, ends open ones with <see cref="StreamErrorCode.ServerShuttingDown"/> so
/// their clients resume elsewhere at once, counts what it delivers, and logs one line when a subscription
/// starts and one when it ends (offsets, duration, reason).
/// </summary>
public sealed partial class StreamDelivery(
    IStreamManager streams,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<StreamDelivery> logger)
{
    private readonly IHostApplicationLifetime _lifetime = lifetime;
    private readonly TimeProvider _time = time;
    private readonly ILogger _logger = logger;

    /// <summary>Opens a subscription; a bad offset or unknown stream fails here, before anything is sent.</summary>
    /// <exception cref="StreamException">The request is refused, or the server is shutting down.</exception>
    /// <param name="key">The stream.</param>
    /// <param name="fromOffset">The first offset to deliver.</param>
    /// <param name="transport">"hub" or "sse", for logs.</param>
    /// <param name="notAfter">When the caller's token expires: the subscription ends then with <see cref="StreamErrorCode.AccessExpired"/>.</param>
    /// <param name="cancellationToken">The client's cancellation.</param>
    public async Task<ClientSubscription> OpenAsync(StreamKey key, long fromOffset, string transport, DateTimeOffset? notAfter, CancellationToken cancellationToken)
    {
        if (_lifetime.ApplicationStopping.IsCancellationRequested)
        {
            throw ShuttingDown(key, fromOffset);
        }

        var subscription = await streams.SubscribeAsync(key, fromOffset, cancellationToken);
        return new ClientSubscription(this, subscription, fromOffset, transport, notAfter);
    }

    private static StreamException ShuttingDown(StreamKey key, long nextOffset) => new(StreamErrorCode.ServerShuttingDown,
        $"This server is shutting down: resume stream {key} at offset {nextOffset} on another node.");

    /// <summary>One client's subscription: enumerate it once, and dispose it when the client is done.</summary>
    public sealed class ClientSubscription : IAsyncEnumerable<StreamEvent>, IDisposable
    {
        private readonly StreamDelivery _owner;
        private readonly StreamSubscription _subscription;
        private readonly long _fromOffset;
        private readonly string _transport;
        private readonly DateTimeOffset? _notAfter;

        internal ClientSubscription(StreamDelivery owner, StreamSubscription subscription, long fromOffset, string transport, DateTimeOffset? notAfter)
        {
            _notAfter = notAfter;
            _owner = owner;
            _subscription = subscription;
            _fromOffset = fromOffset;
            _transport = transport;
        }

        /// <summary>Releases the subscription's watch, enumerated or not.</summary>
        public void Dispose() => _subscription.Dispose();

        /// <summary>The offset after the last event delivered.</summary>
        public long NextOffset { get; private set; }

        /// <inheritdoc />
        public async IAsyncEnumerator<StreamEvent> GetAsyncEnumerator(CancellationToken cancellationToken = default)
        {
            var stopping = _owner._lifetime.ApplicationStopping;
            // Three ways to end early: the client goes, the server stops, or the token expires (the only one left
            // when neither of the others happened; its timer may fire a hair before the clock reads the expiry).
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping);
            if (_notAfter is { } notAfter)
            {
                linked.CancelAfter(TimeSpan.FromTicks(Math.Max(0, (notAfter - _owner._time.GetUtcNow()).Ticks)));
            }
            var key = _subscription.Key;
            var openedAt = _owner._time.GetUtcNow();
            var clock = Stopwatch.StartNew();
            var reason = "completed";
            var delivered = 0L;
            NextOffset = _fromOffset;
            StreamMetrics.ActiveSubscriptions.Add(1);
            LogStarted(_owner._logger, _transport, key.SessionId, key.MessageId, _fromOffset);
            await using var events = _subscription.GetAsyncEnumerator(linked.Token);
            try
            {
                while (true)
                {
                    bool more;
                    try
                    {
                        more = await events.MoveNextAsync();
                    }
                    catch (OperationCanceledException) when (stopping.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                    {
                        reason = StreamErrorCode.ServerShuttingDown.ToString();
                        throw ShuttingDown(key, NextOffset);
                    }
                    catch (OperationCanceledException) when (_notAfter is not null && !cancellationToken.IsCancellationRequested)
                    {
                        reason = StreamErrorCode.AccessExpired.ToString();
                        throw new StreamException(StreamErrorCode.AccessExpired,
                            $"The access token expired: resume stream {key} at offset {NextOffset} with a fresh token.");
                    }
                    catch (OperationCanceledException)
                    {
                        reason = "client_gone";
                        throw;
                    }
                    catch (StreamException e)
                    {
                        reason = e.Code.ToString();
                        throw;
                    }

                    if (!more)
                    {
                        yield break;
                    }

                    var streamEvent = events.Current;
                    NextOffset = streamEvent.Offset + 1;
                    delivered++;
                    StreamMetrics.EventsDelivered.Add(1);

                    // Lag only of events appended while this subscriber was live, not of history it replays.
                    if (streamEvent.Timestamp is { } stamp && stamp >= openedAt)
                    {
                        StreamMetrics.DeliveryLag.Record((_owner._time.GetUtcNow() - stamp).TotalSeconds);
                    }

                    yield return streamEvent;
                }
            }
            finally
            {
                StreamMetrics.ActiveSubscriptions.Add(-1);
                LogEnded(_owner._logger, _transport, key.SessionId, key.MessageId, _fromOffset, NextOffset, delivered,
                    clock.Elapsed.TotalMilliseconds, reason);
            }
        }
    }

    [LoggerMessage(1, LogLevel.Information,
        "Subscription started: {Transport} {SessionId}/{MessageId} from offset {FromOffset}")]
    private static partial void LogStarted(ILogger logger, string transport, string sessionId, string messageId, long fromOffset);

    [LoggerMessage(2, LogLevel.Information,
        "Subscription ended: {Transport} {SessionId}/{MessageId} offsets {FromOffset}..{NextOffset} ({Delivered} events) after {DurationMs:F0} ms: {Reason}")]
    private static partial void LogEnded(ILogger logger, string transport, string sessionId, string messageId,
        long fromOffset, long nextOffset, long delivered, double durationMs, string reason);
}
