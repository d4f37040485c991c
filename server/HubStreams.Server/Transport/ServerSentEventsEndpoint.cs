using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using HubStreams.Server.Hosting;
using HubStreams.Server.Security;
using HubStreams.Streams;

namespace HubStreams.Server.Transport;

/// <summary>
/// <c>GET …/stream</c>: the same subscription as the hub's <c>StreamEvents</c>, written as Server-Sent Events.
/// Each event is <c>id:</c> its offset, <c>event:</c> its type, <c>data:</c> its JSON. <c>Last-Event-ID</c>
/// resumes after that offset. A comment line keeps idle connections (and proxies) alive: it is written once
/// the response has been idle for <c>SSE_HEARTBEAT_INTERVAL</c> (15 s). The response
/// ends right after <c>complete</c>.
/// </summary>
internal static class ServerSentEventsEndpoint
{
    public static async Task StreamAsync(string sessionId, string messageId, HttpContext context, StreamDelivery delivery,
        StreamAccess access, HubStreamsSettings settings, long? fromOffset = null)
    {
        var cancellationToken = context.RequestAborted;
        StreamDelivery.ClientSubscription subscription;
        try
        {
            var key = StreamKey.Create(sessionId, messageId);
            access.EnsureCanRead(context.User, sessionId);
            subscription = await delivery.OpenAsync(key, ResumeOffset(context.Request, fromOffset), "sse", access.ExpiresAt(context.User), cancellationToken);
        }
        catch (StreamException e)
        {
            await StreamErrors.Problem(e).ExecuteAsync(context);
            return;
        }

        // Released however the response ends, even if the client is gone before the first event.
        using var opened = subscription;
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.Body.FlushAsync(cancellationToken);

        try
        {
            await WriteEventsAsync(subscription, response, settings.SseHeartbeatInterval, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (StreamException e)
        {
            // The stream ended early after the response started: say why in-band, then end. On "shutdown" the
            // client reconnects (to another node) with Last-Event-ID; on "error" (expired stream) it gives up.
            var name = e.Code == StreamErrorCode.ServerShuttingDown ? "shutdown" : "error";
            var data = JsonSerializer.Serialize(new StreamError(e.Code.ToString(), e.Message), WireJsonContext.Default.StreamError);
            await WriteAsync(response, $"event: {name}\ndata: {data}\n\n", CancellationToken.None);
        }
    }

    /// <summary><c>Last-Event-ID</c> (the last offset the client has) wins over <c>fromOffset</c>.</summary>
    private static long ResumeOffset(HttpRequest request, long? fromOffset)
    {
        var lastEventId = request.Headers["Last-Event-ID"].ToString();
        if (string.IsNullOrEmpty(lastEventId))
        {
            return fromOffset ?? 0;
        }

        if (!long.TryParse(lastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out var last) || last == long.MaxValue)
        {
            throw new StreamException(StreamErrorCode.InvalidOffset, $"Last-Event-ID must be an event offset, not '{lastEventId}'.");
        }

        return last + 1;
    }

    private static async Task WriteEventsAsync(StreamDelivery.ClientSubscription subscription, HttpResponse response, TimeSpan heartbeat, CancellationToken cancellationToken)
    {
        // One token for the reader, cancelled on the way out, so a pending read never outlives the response.
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var events = subscription.GetAsyncEnumerator(reading.Token);
        // A heartbeat goes out once the response has been idle for the heartbeat interval.
        using var ticker = new PeriodicTimer(heartbeat / 3);
        var lastWrite = Stopwatch.GetTimestamp();
        var tick = ticker.WaitForNextTickAsync(cancellationToken).AsTask();
        var next = events.MoveNextAsync().AsTask();
        try
        {
            while (true)
            {
                if (await Task.WhenAny(next, tick) == tick)
                {
                    await tick;
                    if (Stopwatch.GetElapsedTime(lastWrite) >= heartbeat)
                    {
                        await WriteAsync(response, ": heartbeat\n\n", cancellationToken);
                        lastWrite = Stopwatch.GetTimestamp();
                    }

                    tick = ticker.WaitForNextTickAsync(cancellationToken).AsTask();
                    continue;
                }

                if (!await next)
                {
                    return;
                }

                var streamEvent = events.Current;
                var data = JsonSerializer.Serialize(streamEvent, WireJsonContext.Default.StreamEvent);
                await WriteAsync(response, $"id: {streamEvent.Offset}\nevent: {streamEvent.Type}\ndata: {data}\n\n", cancellationToken);
                lastWrite = Stopwatch.GetTimestamp();
                next = events.MoveNextAsync().AsTask();
            }
        }
        finally
        {
            await reading.CancelAsync();
            await ((Task)next).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await events.DisposeAsync();
        }
    }

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        await response.WriteAsync(text, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
