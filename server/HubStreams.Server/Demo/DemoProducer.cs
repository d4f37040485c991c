using System.Text.Json;
using HubStreams.Server.Transport;
using HubStreams.Streams;

namespace HubStreams.Server.Demo;

/// <summary>
/// A simulated agent that answers like a real one: <c>agent_query</c>, a few <c>thinking</c> chunks, a
/// <c>tool_call</c> and its <c>tool_result</c>, <c>references</c>, about 200 <c>answer</c> chunks at a steady pace, then <c>complete</c>. It watches its own
/// stream, and on a <c>stop</c> event (appended through any node) it stops emitting at once and completes.
/// </summary>
public sealed partial class DemoProducer(
    StreamAppender appender,
    IStreamManager streams,
    DemoOptions options,
    IHostApplicationLifetime lifetime,
    ILogger<DemoProducer> logger)
{
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

    private async Task RunAsync(StreamKey key, CancellationToken stopping)
    {
        using var stopRequested = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var stopWatch = WatchForStopAsync(key, stopRequested);
        var reason = "finished";
        try
        {
            foreach (var thought in DemoScript.Thoughts)
            {
                await Pause(5, stopRequested.Token);
                await appender.AppendAsync(key, new StreamEvent { Type = EventTypes.Thinking, Content = thought }, stopping);
            }

            // The agent looks its sources up with a tool, as real agents do.
            await Pause(5, stopRequested.Token);
            await appender.AppendAsync(key, new StreamEvent { Type = EventTypes.ToolCall, Content = DemoScript.ToolName, Data = ToolCall }, stopping);
            await Pause(5, stopRequested.Token);
            await appender.AppendAsync(key, new StreamEvent { Type = EventTypes.ToolResult, Content = "2 documents found", Data = ToolResult }, stopping);
            await appender.AppendAsync(key, new StreamEvent { Type = EventTypes.References, Data = References }, stopping);
            var chunks = DemoScript.AnswerChunks;
            for (var i = 0; i < chunks.Count; i++)
            {
                await Pause(1, stopRequested.Token);
                await appender.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = chunks[i], Done = i == chunks.Count - 1 }, stopping);
            }
        }
        catch (OperationCanceledException) when (stopRequested.IsCancellationRequested)
        {
            reason = stopping.IsCancellationRequested ? "server_stopping" : "stopped";
        }
        catch (StreamException e)
        {
            reason = "error";
            LogDemoFailed(logger, key.SessionId, key.MessageId, e.Message);
        }

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

        await stopRequested.CancelAsync();
        await stopWatch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task Pause(int intervals, CancellationToken cancellationToken)
    {
        var delay = options.ChunkInterval * intervals;
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, cancellationToken);
        }
        else
        {
            cancellationToken.ThrowIfCancellationRequested();
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

    private static readonly JsonElement ToolCall = JsonSerializer.SerializeToElement(new Dictionary<string, object>
    {
        ["callId"] = "call-1",
        ["name"] = DemoScript.ToolName,
        ["arguments"] = new Dictionary<string, string> { ["query"] = "resumable event stream offsets" },
    });

    private static readonly JsonElement ToolResult = JsonSerializer.SerializeToElement(new Dictionary<string, object>
    {
        ["callId"] = "call-1",
        ["name"] = DemoScript.ToolName,
        ["result"] = new Dictionary<string, int> { ["documents"] = 2 },
    });

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
