using System.Diagnostics;
using System.Net.Http.Json;
using HubStreams.Client;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Client;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR.Client;
using Xunit.Abstractions;

namespace HubStreams.Tests.Transport;

/// <summary>A producer lost on one Redis server, and in memory mode.</summary>
[Collection(RedisTests.Name)]
public sealed class ProducerLostTests(RedisFixture redis, ITestOutputHelper output) : ProducerLostContract(redis, output)
{
    [Fact]
    public async Task In_memory_mode_a_killed_writer_ends_its_stream_for_every_reader_with_producer_lost()
    {
        await using var node = await HubStreamsServer.StartAsync(Lease);
        await KillWriterMidAnswerAsync(node, [node, node]);
    }
}

/// <summary>A producer lost on a three-primary Redis Cluster.</summary>
[Collection(RedisClusterTests.Name)]
public sealed class ClusterProducerLostTests(RedisClusterFixture cluster, ITestOutputHelper output) : ProducerLostContract(cluster, output);

/// <summary>
/// A packaged writer's process killed mid-answer: the readers of its stream, on every node, end with the
/// <c>producer_lost</c> error and <c>complete</c> soon after the producer timeout, and the stream holds that pair once. A
/// writer that only heartbeats through a long silence keeps its stream.
/// </summary>
public abstract class ProducerLostContract(IRedisTestStore redis, ITestOutputHelper output)
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    protected static readonly (string, string) Lease = ("STREAM_PRODUCER_TIMEOUT", "00:00:02");

    [Fact]
    public async Task A_killed_writer_process_ends_its_stream_for_readers_on_both_nodes_with_producer_lost_once()
    {
        var prefix = RedisFixture.UniquePrefix();
        await using var nodeA = await HubStreamsServer.StartRedisAsync(redis, prefix, Lease);
        await using var nodeB = await HubStreamsServer.StartRedisAsync(redis, prefix, Lease);
        await KillWriterMidAnswerAsync(nodeA, [nodeA, nodeB, nodeB]);
    }

    [Fact]
    public async Task Packaged_writers_that_heartbeat_through_a_silence_of_three_timeouts_keep_their_streams_open()
    {
        var prefix = RedisFixture.UniquePrefix();
        await using var nodeA = await HubStreamsServer.StartRedisAsync(redis, prefix, Lease);
        await using var nodeB = await HubStreamsServer.StartRedisAsync(redis, prefix, Lease);
        var session = $"s-{Guid.NewGuid():N}";

        // The JS writer, in a process of its own, on node A; the .NET writer in this one, on node B.
        var work = await JsClientTests.PackedAppFolderAsync();
        try
        {
            await File.WriteAllTextAsync(Path.Combine(work, "silent.js"), SilentWriterScript);
            var js = Shell.RunAsync("node silent.js", work,
                [("WRITER_HUB", nodeA.HubUrl().ToString()), ("SESSION", session), ("SILENCE_MS", $"{Timeout.TotalMilliseconds * 3}")]);

            var options = new HubStreamsClientOptions();
            options.HubUrls.Add(nodeB.HubUrl());
            await using (var writer = await new HubStreamsClient(options).OpenWriterAsync(session, "dotnet"))
            {
                await writer.AppendAsync(new StreamEvent { Type = EventTypes.Answer, Content = "let me look that up" });
                await Task.Delay(Timeout * 3);
                Assert.NotNull(writer.Lease?.ExpiresAt);
                await writer.AppendAsync(new StreamEvent { Type = EventTypes.Answer, Content = ": found it" });
                await writer.CompleteAsync();
            }

            var ran = await js;
            Assert.True(ran.ExitCode == 0, ran.ToString());
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        foreach (var messageId in new[] { "dotnet", "js" })
        {
            var events = (await nodeB.Streams.ReadAsync(StreamKey.Create(session, messageId), 0)).Events;
            Assert.Equal([EventTypes.Answer, EventTypes.Answer, EventTypes.Complete], events.Select(e => e.Type));
            Assert.False(ProducerLeases.EndsLost(events[^1]));
        }
    }

    /// <summary>
    /// Starts a Node process writing an answer through the packed <c>@hubstreams/client</c> on <paramref name="writerNode"/>,
    /// follows it from each of <paramref name="readerNodes"/>, SIGKILLs the process mid-answer, and checks every reader's end.
    /// </summary>
    protected async Task KillWriterMidAnswerAsync(HubStreamsServer writerNode, HubStreamsServer[] readerNodes)
    {
        var session = $"s-{Guid.NewGuid():N}";
        var key = StreamKey.Create(session, "answer");
        var work = await JsClientTests.PackedAppFolderAsync();
        try
        {
            await File.WriteAllTextAsync(Path.Combine(work, "write.js"), EndlessWriterScript);
            using var writer = Process.Start(new ProcessStartInfo("node", "write.js")
            {
                WorkingDirectory = work,
                RedirectStandardOutput = true,
                Environment = { ["WRITER_HUB"] = writerNode.HubUrl().ToString(), ["SESSION"] = session },
            })!;
            try
            {
                using var safety = new CancellationTokenSource(Eventually.SafetyTimeout);
                while (await writer.StandardOutput.ReadLineAsync(safety.Token) is { } line && line != "writing")
                {
                }

                var connections = new List<HubConnection>();
                foreach (var node in readerNodes)
                {
                    connections.Add(await node.ConnectAsync());
                }

                var readers = connections.Select(c => ReadToEndAsync(c, key, safety.Token)).ToArray();
                await Eventually.True(async () => (await writerNode.Streams.ReadAsync(key, 0)).Length >= 20);

                writer.Kill(entireProcessTree: true);
                var killedAt = Stopwatch.GetTimestamp();
                var ends = new List<TimeSpan>();
                foreach (var reader in readers)
                {
                    var events = await reader;
                    ends.Add(Stopwatch.GetElapsedTime(killedAt));
                    AssertEndedLost(events);
                    Assert.Equal(Enumerable.Range(0, events.Count).Select(i => (long)i), events.Select(e => e.Offset));
                }

                output.WriteLine($"readers ended {string.Join(", ", ends.Select(e => $"{e.TotalMilliseconds:F0} ms"))} after the writer's SIGKILL (timeout {Timeout.TotalSeconds} s)");
                Assert.All(ends, end => Assert.True(end < Timeout + TimeSpan.FromSeconds(5), $"a reader ended {end.TotalMilliseconds:F0} ms after the kill"));
                foreach (var connection in connections)
                {
                    await connection.DisposeAsync();
                }
            }
            finally
            {
                if (!writer.HasExited)
                {
                    writer.Kill(entireProcessTree: true);
                }
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        // The stream holds the pair once, and the session lists the message as abandoned.
        using var http = readerNodes[^1].CreateHttpClient();
        var page = (await http.GetFromJsonAsync<EventsPageBody>(new Uri($"/api/sessions/{session}/messages/answer/events?limit=100000", UriKind.Relative)))!;
        AssertEndedLost(page.Events);
        var listed = Assert.Single((await http.GetFromJsonAsync<SessionPage>(new Uri($"/api/sessions/{session}/messages", UriKind.Relative)))!.Messages);
        Assert.Equal(MessageStates.Abandoned, listed.State);
        var refused = await http.PostAsJsonAsync(new Uri($"/api/sessions/{session}/messages/answer/events", UriKind.Relative), new { type = "answer", content = "back" });
        Assert.Equal(System.Net.HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("StreamCompleted", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task<List<StreamEvent>> ReadToEndAsync(HubConnection connection, StreamKey key, CancellationToken cancellationToken)
    {
        var events = new List<StreamEvent>();
        var request = new { sessionId = key.SessionId, messageId = key.MessageId, fromOffset = 0 };
        await foreach (var streamEvent in connection.StreamAsync<StreamEvent>("FollowStream", request, cancellationToken))
        {
            events.Add(streamEvent);
        }

        return events;
    }

    private static void AssertEndedLost(IReadOnlyList<StreamEvent> events)
    {
        Assert.Equal(EventTypes.Error, events[^2].Type);
        Assert.Equal(ProducerLeases.LostReason, events[^2].Data!.Value.GetProperty("reason").GetString());
        Assert.True(ProducerLeases.EndsLost(events[^1]));
        Assert.Single(events, e => e.Type == EventTypes.Error);
        Assert.Single(events, e => e.IsComplete);
    }

    private sealed record EventsPageBody(List<StreamEvent> Events, long NextOffset, bool Completed, string? StreamId);

    private const string EndlessWriterScript = """
        import { connect, createConnection, createWriter } from "@hubstreams/client";
        const connection = createConnection(process.env.WRITER_HUB);
        await connect(connection);
        const writer = await createWriter(connection, process.env.SESSION, "answer");
        console.log("writing");
        for (let chunk = 0; ; chunk++) {
          await writer.append({ type: "answer", content: `${chunk} ` });
          await new Promise(resolve => setTimeout(resolve, 20));
        }
        """;

    private const string SilentWriterScript = """
        import { connect, createConnection, createWriter, disconnect } from "@hubstreams/client";
        const connection = createConnection(process.env.WRITER_HUB);
        await connect(connection);
        const writer = await createWriter(connection, process.env.SESSION, "js");
        await writer.append({ type: "answer", content: "let me look that up" });
        await new Promise(resolve => setTimeout(resolve, Number(process.env.SILENCE_MS)));
        if (!writer.lease?.expiresAt) throw new Error("the writer never heartbeat");
        await writer.append({ type: "answer", content: ": found it" });
        await writer.complete();
        writer.close();
        await disconnect(connection);
        """;
}
