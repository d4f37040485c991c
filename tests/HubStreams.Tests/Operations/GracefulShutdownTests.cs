using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using HubStreams.Client;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Xunit.Abstractions;

namespace HubStreams.Tests.Operations;

/// <summary>On SIGTERM a node ends its streams with a "shutting down" signal, its clients resume on another node at once, and it exits in time.</summary>
[Collection(RedisTests.Name)]
public sealed class GracefulShutdownTests(RedisFixture redis, ITestOutputHelper output)
{
    private static readonly TimeSpan HostShutdownTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task On_sigterm_streams_end_with_a_shutdown_signal_clients_resume_elsewhere_and_the_node_exits()
    {
        var prefix = RedisFixture.UniquePrefix();
        await using var nodeA = await ServerProcess.StartRedisNodeAsync(redis, prefix);
        await using var nodeB = await ServerProcess.StartRedisNodeAsync(redis, prefix);
        var key = StreamKey.Create("sigterm", "m1");
        using var http = new HttpClient { BaseAddress = nodeB.BaseAddress };
        var route = new Uri($"/api/sessions/{key.SessionId}/messages/{key.MessageId}/events", UriKind.Relative);
        for (var i = 0; i < 10; i++)
        {
            (await http.PostAsJsonAsync(route, new { type = "answer", content = $"{i} " })).EnsureSuccessStatusCode();
        }

        // A hub reader and an SSE reader, both on node A, both caught up and waiting.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var reader = Readers.Read([nodeA.HubUrl, nodeB.HubUrl], key.SessionId, key.MessageId);
        var offsets = new List<long>();
        var caughtUp = new TaskCompletionSource();
        var reading = Task.Run(async () =>
        {
            await foreach (var e in reader.WithCancellation(timeout.Token))
            {
                offsets.Add(e.Offset);
                if (e.Offset == 9)
                {
                    caughtUp.SetResult();
                }
            }
        });
        await caughtUp.Task.WaitAsync(timeout.Token);

        using var sseClient = new HttpClient { BaseAddress = nodeA.BaseAddress };
        using var sse = await sseClient.GetAsync(new Uri($"/api/sessions/{key.SessionId}/messages/{key.MessageId}/stream?fromOffset=10", UriKind.Relative),
            HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var sseMessages = new List<SseMessage>();
        var sseReading = Task.Run(async () =>
        {
            await foreach (var message in ServerSentEvents.ReadAsync(await sse.Content.ReadAsStreamAsync(timeout.Token), timeout.Token))
            {
                sseMessages.Add(message);
            }
        });
        await Eventually.True(() => nodeA.Output.Any(line => line.Contains("Subscription started: sse", StringComparison.Ordinal)));

        var stopping = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", ["-TERM", nodeA.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await nodeA.WaitForExitAsync().WaitAsync(HostShutdownTimeout);
        output.WriteLine($"shutdown: node A exited with code {nodeA.ExitCode} {stopping.ElapsedMilliseconds} ms after SIGTERM");
        Assert.Equal(0, nodeA.ExitCode);

        // The SSE response ended with the signal.
        await sseReading.WaitAsync(timeout.Token);
        var signal = Assert.Single(sseMessages, m => m.Event == "shutdown");
        Assert.Equal("ServerShuttingDown", JsonDocument.Parse(signal.Data!).RootElement.GetProperty("code").GetString());

        // The hub reader is on node B now; the stream goes on there.
        for (var i = 10; i < 20; i++)
        {
            (await http.PostAsJsonAsync(route, new { type = "answer", content = $"{i} " })).EnsureSuccessStatusCode();
        }

        (await http.PostAsJsonAsync(route, new { type = "complete" })).EnsureSuccessStatusCode();
        await reading.WaitAsync(timeout.Token);
        Assert.Equal(Enumerable.Range(0, 21).Select(i => (long)i), offsets);
        Assert.Equal(nodeB.HubUrl, reader.CurrentHubUrl);

        // One log line per subscription end, with offsets, duration and reason.
        var ended = nodeA.Output.Where(line => line.Contains("Subscription ended:", StringComparison.Ordinal)).ToList();
        output.WriteLine(string.Join('\n', ended));
        Assert.Contains(ended, line => line.Contains("sse sigterm/m1 offsets 10..10", StringComparison.Ordinal) && line.Contains("ServerShuttingDown", StringComparison.Ordinal));
        Assert.Contains(ended, line => line.Contains("hub sigterm/m1 offsets 0..10", StringComparison.Ordinal));
    }
}
