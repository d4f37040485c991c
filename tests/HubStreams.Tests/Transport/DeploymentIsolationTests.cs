using System.Diagnostics.Metrics;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace HubStreams.Tests.Transport;

/// <summary>
/// Deployments that share one Redis (same prefix on another database, or another prefix) hear none of each other's
/// session notifications or wake-ups, while nodes of one deployment still hear each other.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class DeploymentIsolationTests(RedisFixture redis)
{
    [Fact]
    public async Task Two_deployments_on_one_redis_see_none_of_each_others_notifications()
    {
        var prefix = RedisFixture.UniquePrefix();
        await using var producerNode = await HubStreamsServer.StartRedisAsync(redis, prefix, ("REDIS_DB", "0"));
        await using var sameDeployment = await HubStreamsServer.StartRedisAsync(redis, prefix, ("REDIS_DB", "0"));
        await using var otherDatabase = await HubStreamsServer.StartRedisAsync(redis, prefix, ("REDIS_DB", "1"));
        await using var otherPrefix = await HubStreamsServer.StartRedisAsync(redis, RedisFixture.UniquePrefix(), ("REDIS_DB", "0"));

        var listeners = new List<(HubStreamsServer Node, HubConnection Hub, System.Threading.Channels.ChannelReader<string> Heard)>();
        foreach (var node in new[] { sameDeployment, otherDatabase, otherPrefix })
        {
            var hub = await node.ConnectAsync();
            var heard = HubStreaming.ListenToSessions(hub);
            await hub.InvokeAsync("JoinSession", "shared-session");
            listeners.Add((node, hub, heard));
        }

        // Readers of the same ids on every node: only the producer's own deployment may wake.
        var wakeUps = listeners.Select(l => new MetricCollector<long>(
            l.Node.Services.GetRequiredService<IMeterFactory>(), StreamMetrics.MeterName, "hubstreams.wakeups")).ToList();
        var readers = listeners.Select(l => HubStreaming.Follow(l.Hub, "shared-session", "m1")).ToList();
        await Eventually.True(() => listeners.All(l => l.Node.Streams.OpenWatches() == 1));

        await using var producer = await producerNode.ConnectAsync();
        await producer.InvokeAsync<long>("AppendEvent", "shared-session", "m1", new StreamEvent { Type = EventTypes.Answer, Content = "first" });
        await producer.InvokeAsync<long>("AppendEvent", "shared-session", "m1", new StreamEvent { Type = EventTypes.Complete });

        // The same deployment hears the message start and complete, and its reader gets both events.
        Assert.Equal("started shared-session/m1", await listeners[0].Heard.ReadAsync().AsTask().WaitAsync(Eventually.SafetyTimeout));
        Assert.Equal("completed shared-session/m1", await listeners[0].Heard.ReadAsync().AsTask().WaitAsync(Eventually.SafetyTimeout));
        Assert.Equal(0, (await readers[0].Events.NextAsync()).Offset);
        Assert.Equal(1, (await readers[0].Events.NextAsync()).Offset);

        for (var i = 1; i < listeners.Count; i++)
        {
            Assert.False(listeners[i].Heard.TryRead(out var heard), $"node {i} heard '{heard}' from another deployment");
            wakeUps[i].RecordObservableInstruments();
            Assert.Equal(0, wakeUps[i].LastMeasurement?.Value ?? 0);
        }

        foreach (var (_, hub, _) in listeners)
        {
            await hub.DisposeAsync();
        }

        wakeUps.ForEach(c => c.Dispose());
    }
}
