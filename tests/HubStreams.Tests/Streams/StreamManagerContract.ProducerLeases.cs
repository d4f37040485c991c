using HubStreams.Contracts;
using HubStreams.Streams;

namespace HubStreams.Tests.Streams;

// Producer leases: a stream whose producer goes silent past the timeout ends for good, once, with what says why.
public abstract partial class StreamManagerContract
{
    protected static readonly TimeSpan ShortProducerTimeout = TimeSpan.FromMilliseconds(600);

    protected static StreamOptions WithProducerTimeout(TimeSpan timeout) => new() { ProducerTimeout = timeout };

    protected static async Task<List<StreamEvent>> FollowToEndAsync(IStreamManager manager, StreamKey key, long fromOffset = 0)
    {
        using var subscription = await StreamSubscription.OpenAsync(manager, key, fromOffset);
        using var timeout = new CancellationTokenSource(SafetyTimeout);
        var received = new List<StreamEvent>();
        await foreach (var streamEvent in subscription.WithCancellation(timeout.Token))
        {
            received.Add(streamEvent);
        }

        return received;
    }

    protected static void AssertEndedLost(IReadOnlyList<StreamEvent> events, int produced)
    {
        Assert.Equal(produced + 2, events.Count);
        var (error, complete) = (events[^2], events[^1]);
        Assert.Equal(EventTypes.Error, error.Type);
        Assert.Equal(ProducerLeases.LostReason, error.Data!.Value.GetProperty("reason").GetString());
        Assert.True(complete.IsComplete);
        Assert.True(ProducerLeases.EndsLost(complete));
        Assert.Single(events, e => e.Type == EventTypes.Error);
        Assert.Single(events, e => e.IsComplete);
    }

    [Fact]
    public async Task A_stream_whose_producer_goes_silent_ends_once_with_producer_lost_and_refuses_the_producer_after()
    {
        var manager = CreateManager(WithProducerTimeout(ShortProducerTimeout));
        var key = StreamKey.Create($"s-{Guid.NewGuid():N}", "m1");
        var told = 0;
        manager.ProducerLost += lost => Interlocked.Increment(ref told);
        await manager.AppendAsync(key, Answer("half an "));
        await manager.AppendAsync(key, Answer("answer"));

        // Readers waiting at the end end normally, after the error and complete.
        var readers = Enumerable.Range(0, 3).Select(_ => FollowToEndAsync(manager, key)).ToArray();
        foreach (var reader in readers)
        {
            AssertEndedLost(await reader, produced: 2);
        }

        AssertEndedLost((await manager.ReadAsync(key, 0)).Events, produced: 2);
        var listed = Assert.Single((await manager.ListSessionAsync(key.SessionId, null, 10)).Messages);
        Assert.Equal((MessageStates.Abandoned, 4L), (listed.State, listed.NextOffset));

        var late = await Assert.ThrowsAsync<StreamException>(() => manager.AppendAsync(key, Answer("I am back")));
        Assert.Equal(StreamErrorCode.StreamCompleted, late.Code);
        var heartbeat = await Assert.ThrowsAsync<StreamException>(() => manager.HeartbeatAsync(key));
        Assert.Equal(StreamErrorCode.StreamCompleted, heartbeat.Code);
        Assert.Equal(1, Volatile.Read(ref told));
    }

    [Fact]
    public async Task A_lapsed_stream_nobody_watches_is_ended_by_the_next_listing_or_append_of_it()
    {
        var manager = CreateManager(WithProducerTimeout(ShortProducerTimeout));
        var listedKey = StreamKey.Create($"s-{Guid.NewGuid():N}", "listed");
        var appendedKey = StreamKey.Create($"s-{Guid.NewGuid():N}", "appended");
        await manager.AppendAsync(listedKey, Answer("a"));
        await manager.AppendAsync(appendedKey, Answer("a"));
        await Task.Delay(ShortProducerTimeout * 3);

        Assert.Equal(MessageStates.Abandoned, (await manager.DescribeAsync(listedKey))!.State);
        AssertEndedLost((await manager.ReadAsync(listedKey, 0)).Events, produced: 1);

        var late = await Assert.ThrowsAsync<StreamException>(() => manager.AppendAsync(appendedKey, Answer("late")));
        Assert.Equal(StreamErrorCode.StreamCompleted, late.Code);
        AssertEndedLost((await manager.ReadAsync(appendedKey, 0)).Events, produced: 1);
    }

    [Fact]
    public async Task A_producer_that_heartbeats_through_a_silence_of_three_timeouts_keeps_its_stream_open()
    {
        // The lease only holds while each heartbeat lands within a timeout of the one before. A run whose own heartbeats
        // were held up that long (a machine busy with other work) proves nothing either way, so it is made again on a
        // stream of its own; what is asserted is only asserted of a run whose heartbeats all came in time.
        var manager = CreateManager(WithProducerTimeout(ShortProducerTimeout));
        for (var run = 1; run <= 3; run++)
        {
            var key = StreamKey.Create($"s-{Guid.NewGuid():N}", "m1");
            if (await HeartbeatThroughSilenceAsync(manager, key) is not { } completed)
            {
                continue;
            }

            Assert.False(completed);
            await manager.AppendAsync(key, Answer(" - done"));
            await manager.AppendAsync(key, Complete());
            var events = (await manager.ReadAsync(key, 0)).Events;
            Assert.Equal([EventTypes.Answer, EventTypes.Answer, EventTypes.Complete], events.Select(e => e.Type));
            Assert.Equal(MessageStates.Completed, (await manager.DescribeAsync(key))!.State);
            return;
        }

        Assert.Fail($"three runs in a row had a heartbeat held up for a producer timeout ({ShortProducerTimeout.TotalMilliseconds} ms)");
    }

    // Heartbeats a written stream for three timeouts with a reader watching it, then reads whether it ended: null when
    // some heartbeat (or the read) may have come a timeout after the one before.
    private static async Task<bool?> HeartbeatThroughSilenceAsync(IStreamManager manager, StreamKey key)
    {
        var inTime = ShortProducerTimeout - TimeSpan.FromMilliseconds(50);
        Assert.Equal(new ProducerLease(0, null), await manager.HeartbeatAsync(key));
        var lastSent = DateTimeOffset.UtcNow;
        await manager.AppendAsync(key, Answer("thinking about it"));
        using var subscription = await StreamSubscription.OpenAsync(manager, key, 0);

        var until = DateTimeOffset.UtcNow + ShortProducerTimeout * 3;
        while (DateTimeOffset.UtcNow < until)
        {
            var sent = DateTimeOffset.UtcNow;
            ProducerLease lease;
            try
            {
                lease = await manager.HeartbeatAsync(key);
            }
            catch (StreamException) when (DateTimeOffset.UtcNow - lastSent >= inTime)
            {
                return null;
            }

            if (DateTimeOffset.UtcNow - lastSent >= inTime)
            {
                return null;
            }

            Assert.Equal(1, lease.NextOffset);
            Assert.InRange(lease.ExpiresAt!.Value, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow + ShortProducerTimeout + TimeSpan.FromSeconds(1));
            lastSent = sent;
            await Task.Delay(ShortProducerTimeout / 4);
        }

        var completed = (await manager.ReadAsync(key, 0)).Completed;
        return DateTimeOffset.UtcNow - lastSent >= inTime ? null : completed;
    }

    [Fact]
    public async Task Without_a_producer_timeout_a_silent_stream_stays_open()
    {
        var manager = CreateManager(WithProducerTimeout(TimeSpan.Zero));
        var key = StreamKey.Create($"s-{Guid.NewGuid():N}", "m1");
        await manager.AppendAsync(key, Answer("a"));
        using var subscription = await StreamSubscription.OpenAsync(manager, key, 0);
        await Task.Delay(ShortProducerTimeout * 3);

        Assert.Equal(MessageStates.Streaming, (await manager.DescribeAsync(key))!.State);
        Assert.Equal(new ProducerLease(1, null), await manager.HeartbeatAsync(key));
        Assert.Equal(1, await manager.AppendAsync(key, Answer("b")));
    }

    [Fact]
    public async Task A_heartbeat_of_a_deleted_stream_is_refused_with_its_code()
    {
        var manager = CreateManager(WithProducerTimeout(ShortProducerTimeout));
        var key = StreamKey.Create($"s-{Guid.NewGuid():N}", "m1");
        await manager.AppendAsync(key, Answer("a"));
        await manager.DeleteAsync(key);
        var error = await Assert.ThrowsAsync<StreamException>(() => manager.HeartbeatAsync(key));
        Assert.Equal(StreamErrorCode.StreamDeleted, error.Code);
    }
}
