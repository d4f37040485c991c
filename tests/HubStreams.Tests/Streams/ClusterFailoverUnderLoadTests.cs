using System.Diagnostics;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Streams.Redis;
using HubStreams.Tests.Fixtures;
using HubStreams.Tests.Transport;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace HubStreams.Tests.Streams;

/// <summary>
/// What a primary's death costs acknowledged appends when they come as fast as the store takes them: producers of
/// streams on one primary append flat out, each event at its offset with its id, and the primary is SIGKILLed among
/// them. Redis replicates asynchronously: what the primary had acknowledged but not yet sent to its replica is lost
/// with it. A killed process's socket buffers are still delivered, so on a healthy link that is next to nothing; a
/// replica that has stalled (frozen here for a moment before the kill, as a loaded or partitioned machine would be)
/// lacks everything the primary had queued for it. The producers find out from offset conflicts and append those
/// events again. Writes a "failover: under load" line with the events lost; with REDIS_WAIT_REPLICAS=1 there must be
/// none. Either way every stream ends whole, each event once and at its offset.
/// </summary>
[Collection(nameof(LoadedFailover))]
public sealed class ClusterFailoverUnderLoadTests(ITestOutputHelper output)
{
    private const int Producers = 16;
    private const int EventsPerStream = 1000;
    private const int KillAfterAcknowledged = Producers * EventsPerStream / 4;
    private static readonly TimeSpan ReplicaStall = TimeSpan.FromMilliseconds(600);
    private static readonly string Content = new('x', 4096);

    [Theory]
    [InlineData(0, false)]
    [InlineData(0, true)]
    [InlineData(1, true)]
    public async Task Acknowledged_appends_lost_when_a_loaded_primary_dies_are_counted_and_none_with_wait_replicas(int waitReplicas, bool stallReplica)
    {
        await using var cluster = await RedisCluster.StartAsync(primaries: 3, replicas: 1, nodeTimeout: TimeSpan.FromSeconds(1));
        var options = new RedisStreamOptions { Prefix = RedisFixture.UniquePrefix(), WaitReplicas = waitReplicas, WaitTimeout = TimeSpan.FromSeconds(2) };
        var address = cluster.Address + ",connectTimeout=1000";
        await using var connection = await ConnectionMultiplexer.ConnectAsync(address);
        await using var appendsConnection = waitReplicas > 0 ? await ConnectionMultiplexer.ConnectAsync(address) : null;
        var replicated = appendsConnection is null ? null : new ReplicatedAppends(appendsConnection, options);
        await using var manager = new RedisStreamManager(connection, new StreamOptions(), options, TestMetrics.Create(),
            NullLogger<RedisStreamManager>.Instance, replicatedAppends: replicated);

        // Streams that all live on one primary: the one that dies.
        var victim = await cluster.PrimaryOfAsync(options.StreamKeyFor(StreamKey.Create("loaded", "s0")));
        var replica = await cluster.ReplicaOfAsync(victim);
        var keys = new List<StreamKey>();
        for (var i = 0; keys.Count < Producers; i++)
        {
            var key = StreamKey.Create("loaded", $"s{i}");
            if (await cluster.PrimaryOfAsync(options.StreamKeyFor(key)) == victim)
            {
                keys.Add(key);
            }
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var acknowledged = 0;
        var acknowledgedAtKill = 0;
        var clock = Stopwatch.StartNew();
        var reachedAt = TimeSpan.Zero;
        var killing = Task.CompletedTask;
        async Task KillAsync()
        {
            if (stallReplica)
            {
                await replica.PauseAsync();
                await Task.Delay(ReplicaStall);
            }

            victim.Kill();
            acknowledgedAtKill = Volatile.Read(ref acknowledged);
            if (stallReplica)
            {
                await replica.ResumeAsync();
            }

            if (waitReplicas > 0)
            {
                // Alone in its shard, the promoted replica confirms nothing until a replica is back.
                await ClusterPrimaryFailoverTests.RejoinAsReplicaAsync(cluster, victim, timeout.Token);
            }
        }

        void Acknowledged()
        {
            if (Interlocked.Increment(ref acknowledged) == KillAfterAcknowledged)
            {
                reachedAt = clock.Elapsed;
                killing = Task.Run(KillAsync);
            }
        }

        var runs = await Task.WhenAll(keys.Select(key => Task.Run(() => ProduceAsync(manager, key, Acknowledged, timeout.Token))));
        await killing;
        var lost = runs.Sum(r => r.Lost);
        var rate = KillAfterAcknowledged / reachedAt.TotalSeconds;
        output.WriteLine($"failover: under load, REDIS_WAIT_REPLICAS={waitReplicas}, " +
            (stallReplica ? $"replica frozen for {ReplicaStall.TotalMilliseconds:F0} ms before the kill" : "replica in sync") +
            $": {Producers} producers of {Content.Length}-byte events on the killed primary at {rate:F0} appends/s; " +
            $"{acknowledgedAtKill - KillAfterAcknowledged} appends acknowledged between the kill's order and the kill; " +
            $"{lost} acknowledged events lost (at most {runs.Max(r => r.Lost)} on one stream), appended again by their producers; " +
            $"{runs.Sum(r => r.Refused)} appends refused");

        Assert.True(runs.Sum(r => r.Refused) > 0, "No append was refused: the kill did not reach the streams' primary.");
        if (waitReplicas > 0)
        {
            Assert.Equal(0, lost);
        }

        foreach (var key in keys)
        {
            var events = new List<StreamEvent>();
            StreamPage page;
            do
            {
                page = await manager.ReadAsync(key, events.Count);
                events.AddRange(page.Events);
            }
            while (!page.ReachedEnd);

            Assert.Equal(EventsPerStream, events.Count);
            Assert.All(events, e => Assert.Equal($"e{e.Offset}", e.Id));
        }
    }

    private sealed record ProducerRun(int Lost, int Refused);

    // Appends the stream's events flat out, each at its offset with its id. A refusal is retried; an offset conflict
    // naming an earlier offset, once it holds for two seconds (a restarted node may answer from an empty copy for a
    // moment), is a loss: the producer appends again from there.
    private static async Task<ProducerRun> ProduceAsync(RedisStreamManager manager, StreamKey key, Action acknowledged, CancellationToken cancellationToken)
    {
        var (lost, refused) = (0, 0);
        Stopwatch? conflictSince = null;
        for (var i = 0; i < EventsPerStream; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await manager.AppendAtAsync(key, new StreamEvent { Id = $"e{i}", Type = EventTypes.Answer, Content = Content }, i, cancellationToken);
                conflictSince = null;
                acknowledged();
            }
            catch (StreamException e) when (e.Code == StreamErrorCode.StoreUnavailable)
            {
                refused++;
                i--;
                await Task.Delay(20, cancellationToken);
            }
            catch (StreamException e) when (e.Code == StreamErrorCode.OffsetConflict)
            {
                var next = (int)ClusterPrimaryFailoverTests.NextOffset(e.Message);
                Assert.True(next < i, $"Offset {i} of {key} conflicts, and the stream holds {next} events: {e.Message}");
                conflictSince ??= Stopwatch.StartNew();
                if (conflictSince.Elapsed > TimeSpan.FromSeconds(2))
                {
                    lost += i - next;
                    i = next - 1;
                    conflictSince = null;
                }
                else
                {
                    i--;
                    await Task.Delay(100, cancellationToken);
                }
            }
        }

        return new ProducerRun(lost, refused);
    }
}

/// <summary>
/// The failover under load takes both cores for its producers and six Redis servers: it runs alone, so that neither its
/// figures nor other tests' timing are disturbed.
/// </summary>
[CollectionDefinition(nameof(LoadedFailover), DisableParallelization = true)]
public sealed class LoadedFailover;
