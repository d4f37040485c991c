using HubStreams.Client;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace HubStreams.Tests.Client;

/// <summary>HubStreams.Client against a server that requires tokens: fresh tokens on expiry, final refusals, notifications, DI.</summary>
public sealed class HubStreamsClientTests(ITestOutputHelper output) : IAsyncLifetime
{
    private HubStreamsServer _server = null!;

    public async Task InitializeAsync() => _server = await HubStreamsServer.StartAsync([.. Tokens.Settings, ("AUTH_JWT_CLOCK_SKEW", "0")]);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Uri HubUrl => new(_server.BaseAddress, "/hubs/streams");

    [Fact]
    public async Task An_expired_token_is_replaced_by_a_fresh_one_and_the_read_goes_on_with_no_gap_and_no_duplicate()
    {
        var key = StreamKey.Create("expiring", "m1");
        var tokensAsked = 0;
        var statuses = new List<ReaderStatus>();
        var reader = Readers.Read([HubUrl], key.SessionId, key.MessageId, onStatus: statuses.Add, accessToken: _ =>
        {
            Interlocked.Increment(ref tokensAsked);
            return Task.FromResult<string?>(Tokens.Mint("kim", ["expiring"], lifetime: TimeSpan.FromSeconds(2)));
        });
        using var timeout = new CancellationTokenSource(Eventually.SafetyTimeout);

        // A producer that outlives two tokens.
        var producing = Task.Run(async () =>
        {
            for (var i = 0; i < 60; i++)
            {
                await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = $"{i} " }, timeout.Token);
                await Task.Delay(100, timeout.Token);
            }

            await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Complete }, timeout.Token);
        });
        var offsets = new List<long>();
        await foreach (var e in reader.WithCancellation(timeout.Token))
        {
            offsets.Add(e.Offset);
        }

        await producing;
        output.WriteLine($"tokens asked: {tokensAsked}; {string.Join(", ", statuses.Select(s => $"{s.State}@{s.NextOffset}"))}");
        Assert.Equal(Enumerable.Range(0, 61).Select(i => (long)i), offsets);
        Assert.True(tokensAsked >= 2, $"tokens asked: {tokensAsked}");
        Assert.Contains(statuses, s => s.State == ReaderState.Resumed);
        Assert.Equal(0, reader.SkippedDuplicates);
    }

    [Fact]
    public async Task AccessDenied_ends_the_reader_at_once_with_its_code_and_no_retry()
    {
        await _server.Streams.AppendAsync(StreamKey.Create("other-session", "m1"), new StreamEvent { Type = EventTypes.Answer });
        var statuses = new List<ReaderStatus>();
        var reader = Readers.Read([HubUrl], "other-session", "m1", onStatus: statuses.Add,
            accessToken: _ => Task.FromResult<string?>(Tokens.Mint("lee", ["my-session"])));

        var error = await Assert.ThrowsAsync<HubStreamsException>(async () =>
        {
            await foreach (var _ in reader.WithCancellation(new CancellationTokenSource(Eventually.SafetyTimeout).Token))
            {
            }
        });
        Assert.Equal(StreamErrorCode.AccessDenied, error.Code);
        Assert.Equal([ReaderState.Connecting, ReaderState.Connected], statuses.Select(s => s.State));
    }

    [Fact]
    public async Task Without_a_token_the_server_refuses_for_good()
    {
        var reader = Readers.Read([HubUrl], "s", "m");
        var error = await Assert.ThrowsAsync<HubStreamsException>(async () =>
        {
            await foreach (var _ in reader.WithCancellation(new CancellationTokenSource(Eventually.SafetyTimeout).Token))
            {
            }
        });
        Assert.Equal(StreamErrorCode.AuthenticationRequired, error.Code);
    }

    [Fact]
    public async Task A_client_from_dependency_injection_hears_a_sessions_messages_start_and_complete()
    {
        await using var services = new ServiceCollection()
            .AddHubStreamsClient(o =>
            {
                o.HubUrls.Add(HubUrl);
                o.AccessTokenProvider = _ => Task.FromResult<string?>(Tokens.Mint("mia", ["watched"]));
            })
            .BuildServiceProvider();
        var client = services.GetRequiredService<HubStreamsClient>();
        using var timeout = new CancellationTokenSource(Eventually.SafetyTimeout);
        var heard = new List<SessionNotification>();
        var joined = new TaskCompletionSource();
        var listening = Task.Run(async () =>
        {
            await foreach (var notification in client.JoinSessionAsync("watched", timeout.Token))
            {
                heard.Add(notification);
                if (notification.Kind == SessionNotificationKind.MessageCompleted)
                {
                    return;
                }
            }
        });

        // Appends through the hub (as producers do) notify the session; wait until the watcher has joined.
        await using var producer = await _server.ConnectAsync(Tokens.Mint("producer", ["watched"], producer: true));
        await Eventually.True(async () =>
        {
            await producer.InvokeAsync<long>("AppendEvent", "watched", $"probe-{Guid.NewGuid():N}", new StreamEvent { Type = EventTypes.Complete });
            return heard.Count > 0 || listening.IsCompleted;
        });
        await listening.WaitAsync(timeout.Token);
        Assert.Equal([SessionNotificationKind.MessageStarted, SessionNotificationKind.MessageCompleted], heard.Select(n => n.Kind));
        Assert.All(heard, n => Assert.Equal("watched", n.SessionId));
    }

    [Fact]
    public async Task WatchSessionAsync_yields_the_session_whole_then_each_change_and_the_client_lists_and_deletes()
    {
        var client = new HubStreamsClient(new HubStreamsClientOptions
        {
            HubUrls = { HubUrl },
            AccessTokenProvider = _ => Task.FromResult<string?>(Tokens.Mint("ivy", ["chat-1"], producer: true)),
        });
        var ids = Enumerable.Range(0, 150).Select(i => $"m{i:D3}").ToArray();
        foreach (var id in ids)
        {
            await _server.Streams.AppendAsync(StreamKey.Create("chat-1", id), new StreamEvent { Type = EventTypes.Answer, Content = id });
        }

        using var timeout = new CancellationTokenSource(Eventually.SafetyTimeout);
        await using var updates = client.WatchSessionAsync("chat-1", timeout.Token).GetAsyncEnumerator(timeout.Token);
        Assert.True(await updates.MoveNextAsync());
        Assert.Equal((SessionUpdateKinds.Snapshot, false), (updates.Current.Kind, updates.Current.More));
        Assert.Equal(ids, updates.Current.Messages.Select(m => m.MessageId));

        await using var producer = await _server.ConnectAsync(Tokens.Mint("producer", ["chat-1"], producer: true));
        await producer.InvokeAsync<long>("AppendEvent", "chat-1", "new", new StreamEvent { Type = EventTypes.Answer, Content = "hi" });
        Assert.True(await updates.MoveNextAsync());
        Assert.Equal((SessionUpdateKinds.Started, "new", MessageStates.Streaming), (updates.Current.Kind, updates.Current.Message!.MessageId, updates.Current.Message.State));

        Assert.True(await client.DeleteMessageAsync("chat-1", "new", timeout.Token));
        Assert.True(await updates.MoveNextAsync());
        Assert.Equal((SessionUpdateKinds.Deleted, "new"), (updates.Current.Kind, updates.Current.Message!.MessageId));

        var page = await client.GetSessionAsync("chat-1", cancellationToken: timeout.Token);
        Assert.Equal(100, page.Messages.Count);
        Assert.Equal(50, (await client.GetSessionAsync("chat-1", page.Next, timeout.Token)).Messages.Count);
        Assert.Equal(150, await client.DeleteSessionAsync("chat-1", timeout.Token));
        Assert.Empty((await client.GetSessionAsync("chat-1", cancellationToken: timeout.Token)).Messages);
    }

    [Fact]
    public async Task FollowSessionAsync_follows_a_message_there_before_and_one_started_after_and_says_when_one_is_deleted()
    {
        var client = new HubStreamsClient(new HubStreamsClientOptions
        {
            HubUrls = { HubUrl },
            AccessTokenProvider = _ => Task.FromResult<string?>(Tokens.Mint("kai", ["chat-2"], producer: true)),
        });
        var earlier = StreamKey.Create("chat-2", "earlier");
        var doomed = StreamKey.Create("chat-2", "doomed");
        await _server.Streams.AppendAsync(earlier, new StreamEvent { Type = EventTypes.Answer, Content = "one " });
        await _server.Streams.AppendAsync(earlier, new StreamEvent { Type = EventTypes.Answer, Content = "two" });
        await _server.Streams.AppendAsync(earlier, new StreamEvent { Type = EventTypes.Complete });
        await _server.Streams.AppendAsync(doomed, new StreamEvent { Type = EventTypes.Answer, Content = "soon gone" });

        using var timeout = new CancellationTokenSource(Eventually.SafetyTimeout);
        var texts = new Dictionary<string, string>();
        var offsets = new Dictionary<string, List<long>>();
        var ended = new List<string>();
        await using var producer = await _server.ConnectAsync(Tokens.Mint("producer", ["chat-2"], producer: true));
        await foreach (var e in client.FollowSessionAsync("chat-2", timeout.Token))
        {
            if (e.Error is { } error)
            {
                ended.Add($"{e.MessageId} {error.Code}");
                break;
            }

            offsets[e.MessageId] = [.. offsets.GetValueOrDefault(e.MessageId) ?? [], e.Event!.Offset];
            texts[e.MessageId] = texts.GetValueOrDefault(e.MessageId) + (e.Event.Type == EventTypes.Answer ? e.Event.Content : "");
            if (e.MessageId == "earlier" && e.Event.IsComplete)
            {
                // The follow is under way: a new answer starts, and another is deleted.
                await producer.InvokeAsync<long>("AppendEvent", "chat-2", "later", new StreamEvent { Type = EventTypes.Answer, Content = "three" });
                await producer.InvokeAsync<long>("AppendEvent", "chat-2", "later", new StreamEvent { Type = EventTypes.Complete });
            }

            if (e.MessageId == "later" && e.Event.IsComplete)
            {
                await client.DeleteMessageAsync("chat-2", "doomed", timeout.Token);
            }
        }

        Assert.Equal(("one two", "three", "soon gone"), (texts["earlier"], texts["later"], texts["doomed"]));
        Assert.All(offsets.Values, list => Assert.Equal(Enumerable.Range(0, list.Count).Select(i => (long)i), list));
        Assert.Equal(["doomed StreamDeleted"], ended);
    }

    [Fact]
    public async Task Watching_a_session_the_token_does_not_grant_is_refused_with_its_code()
    {
        var client = new HubStreamsClient(new HubStreamsClientOptions
        {
            HubUrls = { HubUrl },
            AccessTokenProvider = _ => Task.FromResult<string?>(Tokens.Mint("ned", ["mine"])),
        });
        var error = await Assert.ThrowsAsync<HubStreamsException>(async () =>
        {
            await foreach (var _ in client.WatchSessionAsync("not-mine", new CancellationTokenSource(Eventually.SafetyTimeout).Token))
            {
            }
        });
        Assert.Equal(StreamErrorCode.AccessDenied, error.Code);
    }

    [Fact]
    public async Task A_writer_stores_each_event_once_and_its_stop_token_fires_when_a_reader_asks_to_stop()
    {
        var producer = new HubStreamsClient(new HubStreamsClientOptions
        {
            HubUrls = { HubUrl },
            AccessTokenProvider = _ => Task.FromResult<string?>(Tokens.Mint("writer", ["written"], producer: true)),
        });
        using var timeout = new CancellationTokenSource(Eventually.SafetyTimeout);
        await using var writer = await producer.OpenWriterAsync("written", "m1", timeout.Token);
        Assert.Equal(0, writer.NextOffset);

        var stopAsked = System.Diagnostics.Stopwatch.StartNew();
        var chunks = 0;
        while (!writer.StopRequested.IsCancellationRequested && chunks < 2_000)
        {
            await writer.AppendAsync(new StreamEvent { Type = EventTypes.Answer, Content = $"{chunks} " }, timeout.Token);
            if (++chunks == 30)
            {
                // A reader, on its own connection, presses stop.
                await using var reader = await _server.ConnectAsync(Tokens.Mint("reader", ["written"]));
                await reader.InvokeAsync<long>("StopMessage", "written", "m1");
                stopAsked.Restart();
                await Task.Run(() => writer.StopRequested.WaitHandle.WaitOne(Eventually.SafetyTimeout));
                output.WriteLine($"stop honoured {stopAsked.Elapsed.TotalMilliseconds:F1} ms after the reader's stop was stored");
            }
        }

        Assert.True(writer.StopRequested.IsCancellationRequested);
        var end = await writer.CompleteAsync(cancellationToken: timeout.Token);
        var events = (await _server.Streams.ReadAsync(StreamKey.Create("written", "m1"), 0)).Events;
        Assert.Equal(end + 1, events.Count);
        Assert.Equal(Enumerable.Range(0, events.Count).Select(i => (long)i), events.Select(e => e.Offset));
        Assert.Equal(30, events.Count(e => e.Type == EventTypes.Answer));
        Assert.Single(events, e => e.Type == EventTypes.Stop);
        Assert.Equal(EventTypes.Complete, events[^1].Type);
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
    }
}
