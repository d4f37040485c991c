using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Streams.Memory;
using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Streams;

public sealed class MemoryStreamManagerTests : StreamManagerContract, IDisposable
{
    private readonly List<MemoryStreamManager> _managers = [];

    protected override IStreamManager CreateManager(StreamOptions? options = null) => Create(options);

    private MemoryStreamManager Create(StreamOptions? options = null)
    {
        var manager = new MemoryStreamManager(options ?? new StreamOptions(), TestMetrics.Create());
        _managers.Add(manager);
        return manager;
    }

    public void Dispose() => _managers.ForEach(m => m.Dispose());

    [Fact]
    public async Task Refused_appends_leave_no_stream_behind()
    {
        var manager = Create(new StreamOptions { MaxEventBytes = 256 });
        for (var i = 0; i < 100; i++)
        {
            var key = StreamKey.Create("refused", $"m{i}");
            await Assert.ThrowsAsync<StreamException>(() => manager.AppendAtAsync(key, new StreamEvent { Id = "x", Type = EventTypes.Answer }, 5));
            await Assert.ThrowsAsync<StreamException>(() => manager.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = new string('x', 300) }));
        }

        Assert.Equal(0, manager.StreamCount);
    }

    [Fact]
    public async Task Expired_streams_are_released_from_memory()
    {
        var manager = Create(new StreamOptions { Ttl = TimeSpan.FromMilliseconds(300) });
        for (var i = 0; i < 50; i++)
        {
            await manager.AppendAsync(NewKey(), Answer("x"));
        }

        Assert.Equal(50, manager.StreamCount);
        await WaitUntil(() => manager.StreamCount == 0);
    }

    [Fact]
    public async Task A_reader_parked_on_a_stream_that_expires_learns_it_is_gone()
    {
        var manager = Create(new StreamOptions { Ttl = TimeSpan.FromMilliseconds(500) });
        var key = NewKey();
        await manager.AppendAsync(key, Answer("a"));

        var follower = FollowAll(manager, key, 1);
        await WaitUntil(() => manager.OpenWatches() == 1);

        var error = await Assert.ThrowsAsync<StreamException>(() => follower.WaitAsync(SafetyTimeout));
        Assert.Equal(StreamErrorCode.StreamNotFound, error.Code);
        Assert.Equal(0, manager.OpenWatches());
    }
}
