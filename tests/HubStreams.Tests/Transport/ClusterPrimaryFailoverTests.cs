using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace HubStreams.Tests.Transport;

/// <summary>
/// A Redis Cluster primary dies mid-stream (SIGKILL) under a two-node farm: appends are refused while its slots have no
/// primary, succeed again once its replica is promoted, and readers on both nodes end with every event once. Writes a
/// "failover: primary" line with the time without a primary, the appends refused and the acknowledged events lost.
/// </summary>
public sealed class ClusterPrimaryFailoverTests(ITestOutputHelper output)
{
    private const int EventCount = 600;
    private const int KillAt = 200;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task Killing_the_primary_of_a_stream_refuses_appends_until_its_replica_takes_over_and_readers_miss_nothing(int waitReplicas)
    {
        var started = Stopwatch.StartNew();
        await using var cluster = await RedisCluster.StartAsync(primaries: 3, replicas: 1, nodeTimeout: TimeSpan.FromSeconds(1));
        output.WriteLine($"failover: primary: cluster of 3 primaries and 3 replicas ready in {started.ElapsedMilliseconds} ms");
        var prefix = RedisFixture.UniquePrefix();
        // A connect timeout of 1 s, as the deployment guide advises for a cluster: an append sent to the lost primary
        // is refused after at most that long.
        (string, string)[] settings =
        [
            ("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", cluster.Address + ",connectTimeout=1000"), ("REDIS_PREFIX", prefix),
            ("REDIS_WAIT_REPLICAS", waitReplicas.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ];
        await using var nodeA = await ServerProcess.StartAsync(settings);
        await using var nodeB = await ServerProcess.StartAsync(settings);
        var key = StreamKey.Create("primary-failover", "m1");
        var primary = await cluster.PrimaryOfAsync($"{prefix}:{key.SessionId}:{key.MessageId}");

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var readers = new[]
        {
            Readers.Read([nodeA.HubUrl, nodeB.HubUrl], key.SessionId, key.MessageId, maxRetryDelay: TimeSpan.FromMilliseconds(250)),
            Readers.Read([nodeB.HubUrl], key.SessionId, key.MessageId, maxRetryDelay: TimeSpan.FromMilliseconds(250)),
        };
        var reading = readers.Select(reader => Task.Run(async () =>
        {
            var offsets = new List<long>();
            await foreach (var e in reader.WithCancellation(timeout.Token))
            {
                offsets.Add(e.Offset);
            }

            return offsets;
        })).ToArray();

        output.WriteLine($"failover: primary: farm of two nodes up at {started.ElapsedMilliseconds} ms");
        // With REDIS_WAIT_REPLICAS=1 the promoted replica, alone in its shard, cannot confirm anything: appends to its
        // slots are refused until a replica is back. The killed node comes back as that replica once the cluster has
        // replaced it.
        var rejoined = Task.CompletedTask;
        void Kill()
        {
            primary.Kill();
            if (waitReplicas > 0)
            {
                rejoined = RejoinAsReplicaAsync(cluster, primary, timeout.Token);
            }
        }

        var run = await ProduceThroughFailoverAsync(nodeA.BaseAddress, key, Kill,
            () => string.Join('\n', nodeA.Output.Where(l => l.Contains("fail", StringComparison.Ordinal) || l.Contains("Exception", StringComparison.Ordinal)).TakeLast(20)),
            timeout.Token);
        await rejoined;
        output.WriteLine($"failover: primary: produced at {started.ElapsedMilliseconds} ms");
        var results = await Task.WhenAll(reading).WaitAsync(timeout.Token);
        output.WriteLine($"failover: primary: every reader done at {started.ElapsedMilliseconds} ms");

        output.WriteLine($"failover: primary, REDIS_WAIT_REPLICAS={waitReplicas}: killed at event {KillAt}; appends refused for {run.RefusedFor.TotalMilliseconds:F0} ms, " +
            $"{run.Refused} refusals, the first after {run.FirstRefusal.TotalMilliseconds:F0} ms, the slowest in " +
            $"{run.SlowestRefusal.TotalMilliseconds:F0} ms; " +
            $"{run.Lost} acknowledged events lost (appended again by the producer); {run.Conflicts} offset conflicts seen, " +
            "each asked again until it held or cleared");
        if (run.Lost > 0)
        {
            output.WriteLine($"failover: primary: the cluster after the loss:\n{await RedisCluster.CommandAsync(cluster.Nodes.First(n => n != primary), "cluster nodes")}");
        }

        Assert.True(run.Refused > 0, "No append was refused: the kill did not reach the stream's primary.");
        if (waitReplicas > 0)
        {
            // Every acknowledged append was on the replica that took over.
            Assert.Equal(0, run.Lost);
        }

        for (var i = 0; i < readers.Length; i++)
        {
            var (gaps, duplicates) = NodeFailoverContract.Count(results[i]);
            output.WriteLine($"failover: primary: reader {i}: {results[i].Count} events, {gaps} gaps, {duplicates + readers[i].SkippedDuplicates} duplicates");
            Assert.Equal(Enumerable.Range(0, EventCount + 1).Select(n => (long)n), results[i]);
        }
    }

    [Fact]
    public async Task A_slot_with_no_primary_refuses_appends_as_store_unavailable_and_takes_them_once_it_has_one_again()
    {
        await using var cluster = await RedisCluster.StartAsync(primaries: 3);
        await using var node = await HubStreamsServer.StartAsync(
            ("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", cluster.Address), ("REDIS_PREFIX", RedisFixture.UniquePrefix()));
        var key = StreamKey.Create("no-primary", "m1");
        using var http = node.CreateHttpClient();
        var route = new Uri($"/api/sessions/{key.SessionId}/messages/{key.MessageId}/events", UriKind.Relative);
        (await http.PostAsJsonAsync(route, new { type = "answer", content = "before" })).EnsureSuccessStatusCode();

        // The slot's owner gives it up: Redis answers CLUSTERDOWN for it until someone serves it again.
        var settings = node.Services.GetRequiredService<HubStreams.Streams.Redis.RedisStreamOptions>();
        var streamKey = settings.StreamKeyFor(key);
        var owner = await cluster.PrimaryOfAsync(streamKey);
        var slot = await RedisCluster.CommandAsync(owner, $"cluster keyslot {streamKey}");
        await RedisCluster.CommandAsync(owner, $"cluster delslots {slot}");

        using var refused = await http.PostAsJsonAsync(route, new { type = "answer", content = "during" });
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("StoreUnavailable", problem.GetProperty("code").GetString());

        await RedisCluster.CommandAsync(owner, $"cluster addslots {slot}");
        using var accepted = await http.PostAsJsonAsync(route, new { type = "answer", content = "after" });
        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
    }

    // Waits until the killed primary's replica has been promoted (a surviving node lists it as a master), then restarts
    // the killed node, which rejoins as a replica, and waits until it is in sync. Restarted any earlier, the node (it
    // keeps no data) would come back as the primary of its slots, empty, and its replica would copy that emptiness.
    internal static async Task RejoinAsReplicaAsync(RedisCluster cluster, RedisServerProcess killed, CancellationToken cancellationToken)
    {
        var survivor = cluster.Nodes.First(n => n != killed);
        var replica = await cluster.ReplicaOfAsync(killed);
        await Eventually.True(async () => await RedisCluster.IsPrimaryAsync(survivor, replica)
            && (await RedisCluster.CommandAsync(survivor, "cluster info")).Contains("cluster_state:ok", StringComparison.Ordinal));
        await killed.RestartAsync();
        await Eventually.True(async () => (await RedisCluster.CommandAsync(killed, "info replication")).Contains("master_link_status:up", StringComparison.Ordinal));
        cancellationToken.ThrowIfCancellationRequested();
    }

    private sealed record FailoverRun(TimeSpan RefusedFor, TimeSpan FirstRefusal, TimeSpan SlowestRefusal, int Refused, int Lost, int Conflicts);

    /// <summary>
    /// Appends <see cref="EventCount"/> numbered events and then complete, each at its offset with its id, so a retry
    /// never stores an event twice. A refused append is retried; an offset conflict that names an earlier offset means
    /// the store lost acknowledged events, which are appended again from there.
    /// </summary>
    private static async Task<FailoverRun> ProduceThroughFailoverAsync(
        Uri node, StreamKey key, Action kill, Func<string> nodeErrors, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = node };
        var route = new Uri($"/api/sessions/{key.SessionId}/messages/{key.MessageId}/events", UriKind.Relative);
        using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(2));
        var killed = new Stopwatch();
        TimeSpan? firstRefusal = null;
        TimeSpan? recovered = null;
        var slowestRefusal = TimeSpan.Zero;
        var conflictsAt = new Dictionary<int, Stopwatch>();
        var transientConflicts = 0;
        var (refused, lost) = (0, 0);
        for (var i = 0; i <= EventCount; i++)
        {
            if (i == KillAt && !killed.IsRunning)
            {
                kill();
                killed.Start();
            }

            await pace.WaitForNextTickAsync(cancellationToken);
            var type = i == EventCount ? "complete" : "answer";
            var sent = Stopwatch.StartNew();
            using var response = await http.PostAsJsonAsync(route, new { id = $"e{i}", type, content = $"{i} ", offset = i }, cancellationToken);
            switch (response.StatusCode)
            {
                case HttpStatusCode.Created:
                    if (killed.IsRunning && refused > 0)
                    {
                        recovered ??= killed.Elapsed;
                    }

                    break;
                case HttpStatusCode.ServiceUnavailable:
                    refused++;
                    firstRefusal ??= killed.Elapsed;
                    slowestRefusal = sent.Elapsed > slowestRefusal ? sent.Elapsed : slowestRefusal;
                    i--;
                    await Task.Delay(20, cancellationToken);
                    break;
                case HttpStatusCode.Conflict:
                    // "…the stream's next offset is N": the store holds fewer events than were acknowledged. A killed
                    // primary that restarts believes for a moment that it still serves its slots, and answers from its
                    // empty copy until the cluster tells it otherwise: a conflict counts as a loss only when asking
                    // again, once that moment has passed, gives the same answer.
                    var problem = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
                    var next = NextOffset(problem.GetProperty("detail").GetString()!);
                    Assert.True(next < i, $"An offset conflict at {i} that names {next}: {problem}");
                    if (conflictsAt.TryGetValue(i, out var first) && first.Elapsed > TimeSpan.FromSeconds(2))
                    {
                        lost += i - (int)next;
                        i = (int)next - 1;
                        conflictsAt.Clear();
                    }
                    else
                    {
                        transientConflicts += conflictsAt.TryAdd(i, Stopwatch.StartNew()) ? 1 : 0;
                        i--;
                        await Task.Delay(100, cancellationToken);
                    }

                    break;
                default:
                    Assert.Fail($"Append {i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}\n{nodeErrors()}");
                    break;
            }
        }

        return new FailoverRun(recovered ?? TimeSpan.Zero, firstRefusal ?? TimeSpan.Zero, slowestRefusal, refused, lost, transientConflicts);
    }

    /// <summary>The next offset an OffsetConflict's message names.</summary>
    internal static long NextOffset(string detail)
    {
        var match = System.Text.RegularExpressions.Regex.Match(detail, @"next offset is (\d+)");
        Assert.True(match.Success, $"No next offset in '{detail}'.");
        return long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
