using System.Runtime.CompilerServices;
using HubStreams.Client;
using HubStreams.Client.AI;
using HubStreams.Contracts;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.AI;
using Xunit.Abstractions;

namespace HubStreams.Tests.Client;

/// <summary>
/// The AI SDK's front end on HubStreams: an answer written through the Microsoft.Extensions.AI adapter (reasoning, a
/// tool call, text) is read by the published <c>ai</c> package's own chat, transport and parser
/// (<c>tests/ai-sdk</c>), resumed across a drop, on one node and across the two nodes of a Redis farm.
/// </summary>
public sealed class AiSdkTests(ITestOutputHelper output)
{
    private static readonly string Package = Path.Combine(Repository.Root, "tests", "ai-sdk");

    [Fact]
    public async Task The_sdk_resumes_an_answer_from_memory_mode_across_a_drop()
    {
        await using var server = await HubStreamsServer.StartAsync();
        await ReadThroughTheSdkAsync(server, server);
    }

    [Fact]
    public async Task The_sdk_resumes_an_answer_on_the_other_node_of_a_redis_farm()
    {
        // A Redis of its own, so that this test runs beside the ones that share the suite's Redis.
        using var redis = await RedisServerProcess.StartAsync();
        var prefix = RedisFixture.UniquePrefix();
        (string, string)[] farm = [("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", redis.Address), ("REDIS_PREFIX", prefix)];
        await using var first = await HubStreamsServer.StartAsync(farm);
        await using var second = await HubStreamsServer.StartAsync(farm);
        await ReadThroughTheSdkAsync(first, second);
    }

    private async Task ReadThroughTheSdkAsync(HubStreamsServer producerNode, HubStreamsServer otherNode)
    {
        Assert.True(Directory.Exists(Path.Combine(Package, "node_modules", "ai")),
            "tests/ai-sdk has no node_modules: run 'npm ci' there (scripts/test.sh does).");
        var sessionId = $"chat-{Guid.NewGuid():N}";
        var gateSession = $"gate-{Guid.NewGuid():N}";
        using var timeout = new CancellationTokenSource(Eventually.SafetyTimeout);

        // The gate: the producer writes the first half of its answer, then waits for the reader's signal.
        await using var gateWatch = await producerNode.ConnectAsync();
        var gate = WaitForFirstEventAsync(gateWatch, gateSession, timeout.Token);

        await using var client = new HubStreamsClient(new HubStreamsClientOptions { HubUrls = { producerNode.HubUrl() } });
        await using var writer = await client.OpenWriterAsync(sessionId, "answer-1", timeout.Token);
        var producing = writer.WriteChatResponseAsync(ct => new ScriptedModel(gate).GetStreamingResponseAsync([], cancellationToken: ct), timeout.Token);

        // A second chat, whose model answers until a reader presses stop.
        var stopSession = $"stop-{Guid.NewGuid():N}";
        await using var stopWriter = await client.OpenWriterAsync(stopSession, "answer-2", timeout.Token);
        var stopping = stopWriter.WriteChatResponseAsync(Endless, timeout.Token);

        var run = await Shell.RunAsync("node --test test/", Package,
        [
            ("HUBSTREAMS_URL", producerNode.BaseAddress.ToString().TrimEnd('/')),
            ("HUBSTREAMS_RESUME_URL", otherNode.BaseAddress.ToString().TrimEnd('/')),
            ("HUBSTREAMS_SESSION", sessionId),
            ("HUBSTREAMS_MESSAGE", "answer-1"),
            ("HUBSTREAMS_GATE_SESSION", gateSession),
            ("HUBSTREAMS_STOP_SESSION", stopSession),
        ]);
        output.WriteLine(run.ToString());
        NodeTestRun.AssertAllPassed(run);
        await producing.WaitAsync(timeout.Token);
        await stopping.WaitAsync(timeout.Token);
        var stopped = (await producerNode.Streams.ReadAsync(HubStreams.Streams.StreamKey.Create(stopSession, "answer-2"), 0)).Events;
        Assert.Equal("stopped", stopped[^1].Data!.Value.GetProperty("reason").GetString());
    }

    // A model that answers a word every 20 ms until it is cancelled.
    private static async IAsyncEnumerable<ChatResponseUpdate> Endless([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var i = 0; ; i++)
        {
            await Task.Delay(20, cancellationToken);
            yield return new ChatResponseUpdate(ChatRole.Assistant, $"word{i} ");
        }
    }

    private static async Task WaitForFirstEventAsync(HubConnection hub, string sessionId, CancellationToken cancellationToken)
    {
        await foreach (var _ in hub.StreamAsync<StreamEvent>("StreamEvents", sessionId, "gate", 0L, cancellationToken))
        {
            return;
        }
    }

    /// <summary>A model that thinks, calls a tool, answers half, waits at the gate, then answers the rest.</summary>
    private sealed class ScriptedModel(Task gate) : IChatClient
    {
        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            foreach (var thought in new[] { "The reader needs ", "a position ", "it can come back to." })
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, [new TextReasoningContent(thought)]);
            }

            yield return new ChatResponseUpdate(ChatRole.Assistant,
                [new FunctionCallContent("call-1", "search_docs", new Dictionary<string, object?> { ["query"] = "resumable streams", ["limit"] = 2 })]);
            yield return new ChatResponseUpdate(ChatRole.Tool, [new FunctionResultContent("call-1", "2 documents found")]);
            for (var i = 0; i < 80; i++)
            {
                if (i == 40)
                {
                    await gate.WaitAsync(cancellationToken);
                }

                yield return new ChatResponseUpdate(ChatRole.Assistant, $"word{i} ");
            }

            yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails { InputTokenCount = 9, OutputTokenCount = 80 })])
            {
                FinishReason = ChatFinishReason.Stop,
            };
        }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("The scripted model only streams.");

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
