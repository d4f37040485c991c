using System.Diagnostics;
using System.Text.Json;
using HubStreams.Streams;

namespace HubStreams.Server.Transport;

/// <summary>
/// Writes a subscription as Server-Sent Events: each event as <c>id:</c> its offset and its stream's identity
/// (<c>{offset}:{streamId}</c>, which <c>Last-Event-ID</c> sends back on a resume), <c>event:</c> its type,
/// <c>data:</c> its JSON. A comment line keeps an idle response (and the proxies on its way) alive once it has
/// been idle for the heartbeat interval. If the stream ends early, the last message says why: <c>event: shutdown</c>
/// (resume on another node with <c>Last-Event-ID</c>) or <c>event: error</c>, with the code and message as data.
/// A client that stops reading is cut off after the write timeout, so a stalled reader holds nothing for long. A
/// session's watch is written the same way, each update as <c>event:</c> its kind and <c>data:</c> its JSON.
/// </summary>
internal sealed class ServerSentEventsWriter(HttpResponse response, ServerSentEventsOptions options) : IDisposable
{
    private readonly SemaphoreSlim _writing = new(1, 1);
    private long _lastWrite = Stopwatch.GetTimestamp();

    public Task WriteAsync(StreamSubscription subscription, CancellationToken cancellationToken) =>
        WriteAsync(subscription, static streamEvent =>
            $"id: {streamEvent.Offset}:{streamEvent.StreamId}\nevent: {streamEvent.Type}\ndata: {JsonSerializer.Serialize(streamEvent, WireJsonContext.OutgoingOptions)}\n\n",
            LastMessage, cancellationToken);

    public Task WriteAsync(SessionWatch watch, CancellationToken cancellationToken) =>
        WriteAsync(watch, static update =>
            $"event: {update.Kind}\ndata: {JsonSerializer.Serialize(update, WireJsonContext.Default.SessionUpdate)}\n\n",
            LastMessage, cancellationToken);

    /// <summary>
    /// Writes messages already in the Server-Sent Events form, one after the other; a stream that ends early says why
    /// in the message <paramref name="lastMessage"/> makes of the refusal.
    /// </summary>
    public Task WriteAsync(IAsyncEnumerable<string> messages, Func<StreamException, string> lastMessage, CancellationToken cancellationToken) =>
        WriteAsync(messages, static message => message, lastMessage, cancellationToken);

    // The last message of a stream cut short: its code and message, as an event of its own name.
    private static string LastMessage(StreamException e)
    {
        var name = e.Code == StreamErrorCode.ServerShuttingDown ? "shutdown" : "error";
        var data = JsonSerializer.Serialize(new StreamError(e.Code.ToString(), e.Message), WireJsonContext.Default.StreamError);
        return $"event: {name}\ndata: {data}\n\n";
    }

    private async Task WriteAsync<T>(
        IAsyncEnumerable<T> messages, Func<T, string> format, Func<StreamException, string> lastMessage, CancellationToken cancellationToken)
    {
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.Body.FlushAsync(cancellationToken);

        using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var heartbeats = WriteHeartbeatsAsync(done.Token);
        try
        {
            await foreach (var message in messages.WithCancellation(cancellationToken))
            {
                await WriteMessageAsync(format(message), cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (TimeoutException)
        {
            // The client stopped reading: let go of it.
            response.HttpContext.Abort();
        }
        catch (StreamException e)
        {
            // The response has started, so the refusal is said in-band, as the stream's last message.
            await WriteLastMessageAsync(lastMessage(e));
        }
        finally
        {
            await done.CancelAsync();
            await heartbeats.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public void Dispose() => _writing.Dispose();

    private async Task WriteLastMessageAsync(string text)
    {
        try
        {
            await WriteMessageAsync(text, CancellationToken.None);
        }
        catch (TimeoutException)
        {
            response.HttpContext.Abort();
        }
    }

    private async Task WriteHeartbeatsAsync(CancellationToken cancellationToken)
    {
        using var ticker = new PeriodicTimer(options.HeartbeatInterval / 3);
        while (await ticker.WaitForNextTickAsync(cancellationToken))
        {
            if (Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastWrite)) >= options.HeartbeatInterval)
            {
                await WriteMessageAsync(": heartbeat\n\n", cancellationToken);
            }
        }
    }

    private async Task WriteMessageAsync(string text, CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.WriteTimeout);
        try
        {
            await response.WriteAsync(text, timeout.Token);
            await response.Body.FlushAsync(timeout.Token);
            Interlocked.Exchange(ref _lastWrite, Stopwatch.GetTimestamp());
        }
        catch (OperationCanceledException e) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The client read nothing for {options.WriteTimeout.TotalSeconds:F0} s (SSE_WRITE_TIMEOUT).", e);
        }
        finally
        {
            _writing.Release();
        }
    }
}
