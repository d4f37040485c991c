using System.Runtime.CompilerServices;
using HubStreams.Client.AI;
using HubStreams.Contracts;
using Microsoft.Extensions.AI;

namespace HubStreams.Tests.Client;

/// <summary>How a Microsoft.Extensions.AI streaming response becomes stream events.</summary>
public sealed class ChatStreamWritingTests
{
    [Fact]
    public async Task Text_reasoning_tool_calls_and_usage_become_answer_thinking_tool_events_and_complete()
    {
        var writer = new RecordingWriter();
        await writer.WriteChatResponseAsync(ct => Updates(ct,
            new ChatResponseUpdate(ChatRole.Assistant, [new TextReasoningContent("Let me look.")]),
            new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent("c1", "search", new Dictionary<string, object?> { ["q"] = "offsets" })]),
            new ChatResponseUpdate(ChatRole.Tool, [new FunctionResultContent("c1", "3 hits")]),
            new ChatResponseUpdate(ChatRole.Assistant, "Hel"),
            new ChatResponseUpdate(ChatRole.Assistant, "lo"),
            new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails { InputTokenCount = 5, OutputTokenCount = 2, TotalTokenCount = 7 })])
            {
                FinishReason = ChatFinishReason.Stop,
            }));

        Assert.Equal(["thinking", "tool_call", "tool_result", "answer", "answer", "complete"], writer.Events.Select(e => e.Type));
        Assert.Equal("Let me look.", writer.Events[0].Content);
        var call = writer.Events[1].Data!.Value;
        Assert.Equal(("c1", "search", "offsets"), (call.GetProperty("callId").GetString(), call.GetProperty("name").GetString(),
            call.GetProperty("arguments").GetProperty("q").GetString()));
        Assert.Equal("3 hits", writer.Events[2].Content);
        Assert.Equal("c1", writer.Events[2].Data!.Value.GetProperty("callId").GetString());
        Assert.Equal("Hello", string.Concat(writer.Events.Where(e => e.Type == EventTypes.Answer).Select(e => e.Content)));
        var complete = writer.Events[^1].Data!.Value;
        Assert.Equal("finished", complete.GetProperty("reason").GetString());
        Assert.Equal("stop", complete.GetProperty("finishReason").GetString());
        Assert.Equal(7, complete.GetProperty("usage").GetProperty("totalTokens").GetInt64());
    }

    [Fact]
    public async Task A_readers_stop_cancels_the_model_call_and_completes_the_stream_as_stopped()
    {
        using var stop = new CancellationTokenSource();
        var writer = new RecordingWriter(stop.Token);
        var modelSawCancellation = false;
        async IAsyncEnumerable<ChatResponseUpdate> Endless([EnumeratorCancellation] CancellationToken ct)
        {
            for (var i = 0; ; i++)
            {
                if (i == 3)
                {
                    await stop.CancelAsync();
                }

                try
                {
                    await Task.Delay(10, ct);
                }
                catch (OperationCanceledException)
                {
                    modelSawCancellation = true;
                    throw;
                }

                yield return new ChatResponseUpdate(ChatRole.Assistant, $"{i} ");
            }
        }

        await writer.WriteChatResponseAsync(Endless);
        Assert.True(modelSawCancellation);
        Assert.Equal(EventTypes.Complete, writer.Events[^1].Type);
        Assert.Equal("stopped", writer.Events[^1].Data!.Value.GetProperty("reason").GetString());
        Assert.InRange(writer.Events.Count(e => e.Type == EventTypes.Answer), 2, 4);
    }

    [Fact]
    public async Task An_exception_mid_stream_is_an_error_event_and_then_complete()
    {
        var writer = new RecordingWriter();
        async IAsyncEnumerable<ChatResponseUpdate> Failing([EnumeratorCancellation] CancellationToken ct)
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, "partial ");
            await Task.Yield();
            throw new InvalidOperationException("the model went away");
        }

        await writer.WriteChatResponseAsync(Failing);
        Assert.Equal(["answer", "error", "complete"], writer.Events.Select(e => e.Type));
        Assert.Equal("the model went away", writer.Events[1].Content);
        Assert.Equal("InvalidOperationException", writer.Events[1].Data!.Value.GetProperty("exception").GetString());
        Assert.Equal("error", writer.Events[^1].Data!.Value.GetProperty("reason").GetString());
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> Updates([EnumeratorCancellation] CancellationToken ct, params ChatResponseUpdate[] updates)
    {
        foreach (var update in updates)
        {
            await Task.Yield();
            ct.ThrowIfCancellationRequested();
            yield return update;
        }
    }

    /// <summary>Keeps what is written, in order, with offsets as a stream would give them.</summary>
    private sealed class RecordingWriter(CancellationToken stopRequested = default) : IStreamEventWriter
    {
        public List<StreamEvent> Events { get; } = [];

        public CancellationToken StopRequested => stopRequested;

        public Task<long> AppendAsync(StreamEvent streamEvent, CancellationToken cancellationToken = default)
        {
            Events.Add(streamEvent with { Offset = Events.Count });
            return Task.FromResult((long)Events.Count - 1);
        }
    }
}
