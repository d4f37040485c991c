using System.Text.Json;
using HubStreams.Client.AI;
using HubStreams.Server.Transport;
using HubStreams.Streams;
using Microsoft.Extensions.AI;

namespace HubStreams.Server.Demo;

/// <summary>
/// A simulated agent that answers like a real one, its model's streamed response written by the Microsoft.Extensions.AI
/// adapter (with <see cref="DemoChatClient"/>, which replays a script): <c>agent_query</c>, <c>references</c>, a few
/// <c>thinking</c> chunks, a <c>tool_call</c> and its <c>tool_result</c>, about 200 <c>answer</c> chunks at a steady pace, then <c>complete</c>. It watches its own
/// stream, and on a <c>stop</c> event (appended through any node) it stops emitting at once and completes.
/// </summary>
public sealed partial class DemoProducer(
    StreamAppender appender,
    IStreamManager streams,
    StreamOptions streamOptions,
    DemoOptions options,
    IHostApplicationLifetime lifetime,
    ILogger<DemoProducer> logger) : IDisposable
{
    // The demo's model: a script, so that the demo needs none. A real agent passes its own IChatClient's call.
    private readonly DemoChatClient _chat = new(options);

    /// <summary>Releases the scripted model.</summary>
    public void Dispose() => _chat.Dispose();

    /// <summary>Starts an answer on a new stream in the background.</summary>
    /// <exception cref="StreamException">The ids are invalid, or the stream already has events.</exception>
    public async Task StartAsync(StreamKey key, CancellationToken cancellationToken)
    {
        var existing = await streams.ReadAsync(key, 0, 1, cancellationToken);
        if (existing.Events.Count > 0)
        {
            throw new StreamException(StreamErrorCode.StreamExists, $"Stream {key} already has events; start the demo on a new message id.");
        }

        // The first event is stored before the request returns, so a client can subscribe at once.
        await appender.AppendAsync(key, new StreamEvent { Type = EventTypes.AgentQuery, Content = DemoScript.Query }, cancellationToken);
        _ = Task.Run(() => RunAsync(key, lifetime.ApplicationStopping), CancellationToken.None);
    }

    // The agent: its sources first, then the model's streamed response written by the Microsoft.Extensions.AI adapter,
    // which ends the stream with 'complete' (reason finished, stopped or error).
    private async Task RunAsync(StreamKey key, CancellationToken stopping)
    {
        using var stopRequested = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var stopWatch = WatchForStopAsync(key, stopRequested);
        var heartbeats = HeartbeatAsync(key, stopRequested.Token);
        try
        {
            await appender.AppendAsync(key, new StreamEvent { Type = EventTypes.References, Data = References }, stopping);
            var writer = new AppenderEventWriter(appender, key, stopRequested.Token);
            await writer.WriteChatResponseAsync(ct => _chat.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, DemoScript.Query)], null, ct), stopping);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            await CompleteAsync(key, "server_stopping");
        }
        catch (StreamException e)
        {
            LogDemoFailed(logger, key.SessionId, key.MessageId, e.Message);
            await CompleteAsync(key, "error");
        }

        await stopRequested.CancelAsync();
        await stopWatch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await heartbeats.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    // As every packaged writer does: while the answer is open, the producer says it is there, so a slow model turn never
    // ends it as producer_lost. Three heartbeats within each deadline.
    private async Task HeartbeatAsync(StreamKey key, CancellationToken stopping)
    {
        if (!streamOptions.LeasesProducers)
        {
            return;
        }

        var every = TimeSpan.FromTicks(Math.Min(streamOptions.ProducerTimeout.Ticks / 3, TimeSpan.FromSeconds(30).Ticks));
        while (!stopping.IsCancellationRequested)
        {
            await Task.Delay(every, stopping);
            try
            {
                await appender.HeartbeatAsync(key, stopping);
            }
            catch (StreamException)
            {
                // Ended, or the store is away for a moment: the answer's own appends say which.
            }
        }
    }

    private async Task CompleteAsync(StreamKey key, string reason)
    {
        try
        {
            await appender.AppendAsync(key, new StreamEvent
            {
                Type = EventTypes.Complete,
                Done = true,
                Data = JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["reason"] = reason }),
            }, CancellationToken.None);
        }
        catch (StreamException e)
        {
            LogDemoFailed(logger, key.SessionId, key.MessageId, e.Message);
        }
    }

    private async Task WatchForStopAsync(StreamKey key, CancellationTokenSource stopRequested)
    {
        using var subscription = await StreamSubscription.OpenAsync(streams, key, 0, stopRequested.Token);
        await foreach (var streamEvent in subscription.WithCancellation(stopRequested.Token))
        {
            if (streamEvent.Type == EventTypes.Stop)
            {
                LogStopRequested(logger, key.SessionId, key.MessageId, streamEvent.Offset);
                await stopRequested.CancelAsync();
                return;
            }
        }
    }

    private static readonly JsonElement References = JsonSerializer.SerializeToElement(new Dictionary<string, object>
    {
        ["items"] = new[]
        {
            new Dictionary<string, string> { ["title"] = "Server-Sent Events: Last-Event-ID", ["url"] = "https://html.spec.whatwg.org/multipage/server-sent-events.html" },
            new Dictionary<string, string> { ["title"] = "Redis Lists", ["url"] = "https://redis.io/docs/latest/develop/data-types/lists/" },
        },
    });

    [LoggerMessage(1, LogLevel.Information, "Demo {SessionId}/{MessageId}: stop requested at offset {Offset}")]
    private static partial void LogStopRequested(ILogger logger, string sessionId, string messageId, long offset);

    [LoggerMessage(2, LogLevel.Warning, "Demo {SessionId}/{MessageId} failed: {Error}")]
    private static partial void LogDemoFailed(ILogger logger, string sessionId, string messageId, string error);
}
