using System.Diagnostics;
using System.Security.Claims;
using HubStreams.Server.Security;
using HubStreams.Streams;

namespace HubStreams.Server.Transport;

/// <summary>
/// Opens the subscription a transport hands to one client, with what surrounds every delivery, the same for the hub
/// and SSE: the caller must be granted the session and be under its subscription cap, new subscriptions are refused
/// once the server is stopping, open ones end with
/// <see cref="StreamErrorCode.ServerShuttingDown"/> so their clients resume elsewhere at once, a subscription ends
/// with <see cref="StreamErrorCode.AccessExpired"/> when the caller's token does, deliveries are counted, and one
/// line is logged when a subscription starts and one when it ends (offsets, duration, reason).
/// </summary>
public sealed partial class StreamDelivery(
    IStreamManager streams,
    CompactedStreamCache compactedStreams,
    StreamAccess access,
    ConnectionLimits limits,
    StreamMetrics metrics,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<StreamDelivery> logger)
{
    /// <summary>Opens a subscription; a bad offset or unknown stream fails here, before anything is sent.</summary>
    /// <param name="key">The stream.</param>
    /// <param name="fromOffset">The first offset to deliver.</param>
    /// <param name="transport">"hub" or "sse", for logs.</param>
    /// <param name="user">The caller: it must be granted the session; its token's expiry ends the subscription with <see cref="StreamErrorCode.AccessExpired"/>.</param>
    /// <param name="cancellationToken">The client's cancellation.</param>
    /// <exception cref="StreamException">The request is refused, or the server is shutting down.</exception>
    public Task<StreamSubscription> OpenAsync(
        StreamKey key, long fromOffset, string transport, ClaimsPrincipal user, CancellationToken cancellationToken) =>
        OpenAsync(key, fromOffset, streamId: null, compact: false, transport, user, clientAddress: null, cancellationToken);

    /// <summary>
    /// Opens a subscription that resumes the stream identified by <paramref name="streamId"/>, when given: a stream lost
    /// and created again since is refused with <see cref="StreamErrorCode.StreamReset"/>. Opening counts as a read of
    /// the caller (<paramref name="clientAddress"/> names it without auth). With <paramref name="compact"/>, the catch-up
    /// comes compacted (<see cref="StreamSubscription.OpenCompactedAsync"/>), from the node's
    /// <see cref="CompactedStreamCache"/> when it holds the stream.
    /// </summary>
    /// <exception cref="StreamException">The request is refused, or the server is shutting down.</exception>
    public async Task<StreamSubscription> OpenAsync(
        StreamKey key, long fromOffset, string? streamId, bool compact, string transport, ClaimsPrincipal user, string? clientAddress,
        CancellationToken cancellationToken)
    {
        access.EnsureCanRead(user, key.SessionId);
        access.EnsureWithinReadRate(user, clientAddress);
        var stopping = lifetime.ApplicationStopping;
        if (stopping.IsCancellationRequested)
        {
            throw ShuttingDown(key, fromOffset);
        }

        var lease = limits.OpenSubscription(access.UserId(user));
        StreamSubscription subscription;
        try
        {
            subscription = compact
                ? await StreamSubscription.OpenCompactedAsync(streams, key, fromOffset, streamId, compactedStreams, cancellationToken)
                : await StreamSubscription.OpenAsync(streams, key, fromOffset, streamId, cancellationToken);
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        subscription.ReleaseWith(lease);
        subscription.EndWith(s => ShuttingDown(s.Key, s.NextOffset), stopping);
        if (access.ExpiresAt(user) is { } expiry)
        {
            // A moment early: SignalR closes a connection whose token expired on its next heartbeat, and a reader must
            // learn the reason (and resume with a fresh token) before its connection goes.
            var expiring = ExpiryTimer(expiry, time);
            subscription.ReleaseWith(expiring);
            subscription.EndWith(s => new StreamException(StreamErrorCode.AccessExpired,
                $"The access token expired: resume stream {s.Key} at offset {s.NextOffset} with a fresh token."), expiring.Token);
        }

        subscription.Observer = new DeliveryObserver(metrics, time, logger, transport);
        return subscription;
    }

    /// <summary>How long before its token's expiry a subscription ends with <see cref="StreamErrorCode.AccessExpired"/>.</summary>
    internal static readonly TimeSpan ExpiryMargin = TimeSpan.FromSeconds(1);

    /// <summary>A timer that fires <see cref="ExpiryMargin"/> before a token's <paramref name="expiry"/> (at once when that is past).</summary>
    internal static CancellationTokenSource ExpiryTimer(DateTimeOffset expiry, TimeProvider time) =>
        new(TimeSpan.FromTicks(Math.Max(0, (expiry - ExpiryMargin - time.GetUtcNow()).Ticks)), time);

    private static StreamException ShuttingDown(StreamKey key, long nextOffset) => new(StreamErrorCode.ServerShuttingDown,
        $"This server is shutting down: resume stream {key} at offset {nextOffset} on another node.");

    private sealed class DeliveryObserver(StreamMetrics metrics, TimeProvider time, ILogger logger, string transport) : IStreamSubscriptionObserver
    {
        private long _startedAt;
        private DateTimeOffset _openedAt;
        private Activity? _span;

        public void OnStarted(StreamSubscription subscription)
        {
            _startedAt = Stopwatch.GetTimestamp();
            _openedAt = time.GetUtcNow();
            metrics.SubscriptionOpened();
            LogStarted(logger, transport, subscription.Key.SessionId, subscription.Key.MessageId, subscription.FromOffset);
            _span = HubStreamsTracing.Source.StartActivity("hubstreams.subscription", ActivityKind.Server);
            if (_span is { IsAllDataRequested: true })
            {
                _span.SetTag("hubstreams.session_id", subscription.Key.SessionId);
                _span.SetTag("hubstreams.message_id", subscription.Key.MessageId);
                _span.SetTag("hubstreams.transport", transport);
                _span.SetTag("hubstreams.from_offset", subscription.FromOffset);
            }
        }

        public void OnDelivered(StreamSubscription subscription, StreamEvent streamEvent)
        {
            // Lag only of events appended while this subscriber was live, not of history it replays.
            metrics.EventDelivered(streamEvent.Timestamp is { } stamp && stamp >= _openedAt ? time.GetUtcNow() - stamp : null);
            if (HubStreamsTracing.TryGetAppendContext(streamEvent, out var appended) && appended.TraceFlags.HasFlag(ActivityTraceFlags.Recorded))
            {
                // A child of the event's append, wherever it was stored, linked to this subscription.
                using var delivery = HubStreamsTracing.Source.StartActivity("hubstreams.deliver", ActivityKind.Producer, appended,
                    links: _span is null ? null : [new ActivityLink(_span.Context)]);
                delivery?.SetTag("hubstreams.transport", transport);
                delivery?.SetTag("hubstreams.offset", streamEvent.Offset);
            }
        }

        public void OnEnded(StreamSubscription subscription)
        {
            metrics.SubscriptionClosed();
            LogEnded(logger, transport, subscription.Key.SessionId, subscription.Key.MessageId, subscription.FromOffset,
                subscription.NextOffset, subscription.Delivered, Stopwatch.GetElapsedTime(_startedAt).TotalMilliseconds, subscription.EndReason.ToString());
            if (_span is not null)
            {
                _span.SetTag("hubstreams.delivered", subscription.Delivered);
                _span.SetTag("hubstreams.end_reason", subscription.EndReason.ToString());
                _span.Dispose();
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
