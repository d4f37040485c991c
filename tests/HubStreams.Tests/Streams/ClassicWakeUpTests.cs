using HubStreams.Streams;
using HubStreams.Streams.Redis;
using HubStreams.Tests.Fixtures;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace HubStreams.Tests.Streams;

/// <summary>A Redis that refuses sharded pub/sub: the store finds out and wakes its readers by classic pub/sub.</summary>
public sealed class ClassicWakeUpTests
{
    [Fact]
    public async Task Where_spublish_is_refused_wake_ups_fall_back_to_classic_pub_sub_and_still_arrive_per_stream()
    {
        // As a proxy or an ACL would: the server knows no SPUBLISH.
        using var redis = await RedisServerProcess.StartAsync(false, "--rename-command", "SPUBLISH", "");
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Address);
        var options = new RedisStreamOptions { Prefix = RedisFixture.UniquePrefix(), SafetyNetInterval = TimeSpan.FromHours(1) };
        var readerMetrics = TestMetrics.Create();
        await using var reader = new RedisStreamManager(connection, new StreamOptions(), options, readerMetrics, NullLogger<RedisStreamManager>.Instance);
        await using var writer = new RedisStreamManager(connection, new StreamOptions(), options, TestMetrics.Create(), NullLogger<RedisStreamManager>.Instance);

        Assert.Equal(WakeUpPublishing.Classic, await reader.DetectWakeUpPublishingAsync());

        var watched = StreamKey.Create("classic", "watched");
        var woken = reader.WaitForEventAsync(watched, 0, CancellationToken.None);
        await Eventually.True(() => reader.OpenWatches() == 1);
        await writer.AppendAsync(StreamKey.Create("classic", "other"), new HubStreams.Contracts.StreamEvent { Type = "answer" });
        await writer.AppendAsync(watched, new HubStreams.Contracts.StreamEvent { Type = "answer" });
        await woken.WaitAsync(Eventually.SafetyTimeout);

        // Woken by its own stream's notification, not by the other stream's, nor by the safety net.
        Assert.Equal(1, reader.Metrics.WakeUpsReceived);
        Assert.Equal(0, reader.SafetyNetChecks);
    }
}
