using System.Diagnostics;
using System.Net.Http.Json;
using HubStreams.Client;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Xunit.Abstractions;

namespace HubStreams.Tests.Transport;

/// <summary>Node death in a web farm on one Redis server.</summary>
[Collection(RedisTests.Name)]
public sealed class FailoverTests(RedisFixture redis, ITestOutputHelper output) : NodeFailoverContract(redis, output);

/// <summary>Node death in a web farm on a three-primary Redis Cluster.</summary>
[Collection(RedisClusterTests.Name)]
public sealed class ClusterFailoverTests(RedisClusterFixture cluster, ITestOutputHelper output) : NodeFailoverContract(cluster, output);

/// <summary>
/// Node death in a web farm: server processes on one Redis, a node killed with SIGKILL mid-stream, and
/// clients that resume elsewhere (or on the node once it is back) with no gap and no duplicate.
/// Each test writes a "failover:" line per run with its counts and switch times; CI prints them.
/// </summary>
public abstract class NodeFailoverContract(IRedisTestStore redis, ITestOutputHelper output)
{
    private const int EventCount = 1000;

    [Fact]
    public async Task A_client_on_a_killed_node_resumes_on_the_other_with_no_gap_and_no_duplicate_at_5_random_points()
    {
        var prefix = RedisFixture.UniquePrefix();
        await using var nodeB = await ServerProcess.StartRedisNodeAsync(redis, prefix);
        var seed = Environment.TickCount;
        var random = new Random(seed);
        output.WriteLine($"failover: random seed {seed}");

        for (var round = 1; round <= 5; round++)
        {
            await using var nodeA = await ServerProcess.StartRedisNodeAsync(redis, prefix);
            var key = StreamKey.Create("failover", $"round{round}");
            var killAt = random.Next(50, EventCount - 50);
            using var producing = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            var producer = ProduceAsync(nodeB.BaseAddress, key, producing.Token);

            var reader = Readers.Read([nodeA.HubUrl, nodeB.HubUrl], key.SessionId, key.MessageId);
            var offsets = new List<long>();
            var killed = new Stopwatch();
            TimeSpan? switchTime = null;
            await foreach (var e in reader.WithCancellation(producing.Token))
            {
                // The first event that came through node B: events buffered before the kill do not count.
                if (killed.IsRunning && switchTime is null && reader.CurrentHubUrl == nodeB.HubUrl)
                {
                    switchTime = killed.Elapsed;
                }

                offsets.Add(e.Offset);
                if (e.Offset == killAt)
                {
                    nodeA.Kill();
                    killed.Start();
                }
            }

            await producer;
            var (gaps, duplicates) = Count(offsets);
            output.WriteLine($"failover: round {round}: node A killed at offset {killAt}; client on node B after " +
                $"{switchTime?.TotalMilliseconds:F0} ms; {offsets.Count} events, {gaps} gaps, {duplicates + reader.SkippedDuplicates} duplicates");
            Assert.Equal(Enumerable.Range(0, EventCount + 1).Select(i => (long)i), offsets);
            Assert.Equal(0, reader.SkippedDuplicates);
            Assert.NotNull(switchTime);
            Assert.Equal(nodeB.HubUrl, reader.CurrentHubUrl);
        }
    }

    [Fact]
    public async Task Clients_of_a_killed_node_resume_on_it_when_it_restarts()
    {
        var prefix = RedisFixture.UniquePrefix();
        await using var nodeA = await ServerProcess.StartRedisNodeAsync(redis, prefix);
        await using var nodeB = await ServerProcess.StartRedisNodeAsync(redis, prefix);
        var key = StreamKey.Create("restart", "m1");
        using var producing = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var producer = ProduceAsync(nodeB.BaseAddress, key, producing.Token);

        var readers = Enumerable.Range(0, 3)
            .Select(_ => Readers.Read([nodeA.HubUrl], key.SessionId, key.MessageId, maxRetryDelay: TimeSpan.FromMilliseconds(250)))
            .ToArray();
        var killed = new TaskCompletionSource();
        var reading = readers.Select((reader, i) => Task.Run(async () =>
        {
            var offsets = new List<long>();
            await foreach (var e in reader.WithCancellation(producing.Token))
            {
                offsets.Add(e.Offset);
                if (i == 0 && e.Offset == 300)
                {
                    nodeA.Kill();
                    killed.SetResult();
                }
            }

            return offsets;
        })).ToArray();

        await killed.Task.WaitAsync(producing.Token);
        var down = Stopwatch.StartNew();
        await nodeA.RestartAsync();
        output.WriteLine($"failover: node A down for {down.ElapsedMilliseconds} ms (restart included)");

        var results = await Task.WhenAll(reading);
        await producer;
        for (var i = 0; i < readers.Length; i++)
        {
            var (gaps, duplicates) = Count(results[i]);
            output.WriteLine($"failover: restart: client {i}: {results[i].Count} events, {gaps} gaps, {duplicates + readers[i].SkippedDuplicates} duplicates");
            Assert.Equal(Enumerable.Range(0, EventCount + 1).Select(n => (long)n), results[i]);
            Assert.Equal(0, readers[i].SkippedDuplicates);
        }
    }

    /// <summary>Appends <see cref="EventCount"/> answer chunks through a node's HTTP API at a steady pace, then complete.</summary>
    internal static Task ProduceAsync(Uri node, StreamKey key, CancellationToken cancellationToken) => Task.Run(async () =>
    {
        using var http = new HttpClient { BaseAddress = node };
        var route = new Uri($"/api/sessions/{key.SessionId}/messages/{key.MessageId}/events", UriKind.Relative);
        using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(2));
        for (var i = 0; i < EventCount; i++)
        {
            await pace.WaitForNextTickAsync(cancellationToken);
            using var response = await http.PostAsJsonAsync(route, new { type = "answer", content = $"{i} " }, cancellationToken);
            response.EnsureSuccessStatusCode();
        }

        (await http.PostAsJsonAsync(route, new { type = "complete" }, cancellationToken)).EnsureSuccessStatusCode();
    }, cancellationToken);

    internal static (int Gaps, int Duplicates) Count(IReadOnlyList<long> offsets)
    {
        var distinct = offsets.Distinct().Count();
        var gaps = offsets.Count == 0 ? 0 : (int)(offsets.Max() + 1) - distinct;
        return (gaps, offsets.Count - distinct);
    }
}
