using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HubStreams.Contracts;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Transport;

/// <summary>The session farm on one Redis server.</summary>
[Collection(RedisTests.Name)]
public sealed class SessionFarmTests(RedisFixture redis) : SessionFarmContract(redis);

/// <summary>The session farm on a three-primary Redis Cluster.</summary>
[Collection(RedisClusterTests.Name)]
public sealed class ClusterSessionFarmTests(RedisClusterFixture cluster) : SessionFarmContract(cluster);

/// <summary>
/// Two nodes on one Redis: a session watched on one node hears what happens on the other, and a deleted stream ends its
/// readers on both with <c>StreamDeleted</c>, over the hub and SSE, and is refused to every later read.
/// </summary>
public abstract class SessionFarmContract(IRedisTestStore redis) : IAsyncLifetime
{
    private static readonly TimeSpan SafetyTimeout = Eventually.SafetyTimeout;
    private HubStreamsServer _nodeA = null!;
    private HubStreamsServer _nodeB = null!;
    private string _prefix = "";

    public async Task InitializeAsync()
    {
        _prefix = RedisFixture.UniquePrefix();
        _nodeA = await HubStreamsServer.StartRedisAsync(redis, _prefix);
        _nodeB = await HubStreamsServer.StartRedisAsync(redis, _prefix);
    }

    public async Task DisposeAsync()
    {
        await _nodeA.DisposeAsync();
        await _nodeB.DisposeAsync();
    }

    private static Uri Api(string path) => new(path, UriKind.Relative);

    [Fact]
    public async Task A_session_watched_on_node_b_starts_with_its_messages_then_hears_every_change_made_on_node_a()
    {
        using var httpA = _nodeA.CreateHttpClient();
        (await httpA.PostAsJsonAsync(Api("/api/sessions/chat/messages/old/events"), new { type = "answer", content = "x" })).Dispose();
        await using var hubB = await _nodeB.ConnectAsync();
        using var cancel = new CancellationTokenSource();
        await using var updates = hubB.StreamAsync<SessionUpdate>("WatchSession", "chat", cancel.Token).GetAsyncEnumerator();

        Assert.True(await updates.MoveNextAsync().AsTask().WaitAsync(SafetyTimeout));
        var snapshot = updates.Current;
        Assert.Equal((SessionUpdateKinds.Snapshot, false), (snapshot.Kind, snapshot.More));
        Assert.Equal(["old"], snapshot.Messages.Select(m => m.MessageId));

        (await httpA.PostAsJsonAsync(Api("/api/sessions/chat/messages/new/events"), new { type = "answer", content = "y" })).Dispose();
        (await httpA.PostAsJsonAsync(Api("/api/sessions/chat/messages/new/events"), new { type = "complete" })).Dispose();
        (await httpA.DeleteAsync(Api("/api/sessions/chat/messages/old"))).Dispose();

        var heard = new List<string>();
        while (heard.Count < 3 && await updates.MoveNextAsync().AsTask().WaitAsync(SafetyTimeout))
        {
            heard.Add($"{updates.Current.Kind} {updates.Current.Message!.MessageId} {updates.Current.Message.State}");
        }

        Assert.Equal(["started new streaming", "completed new completed", "deleted old deleted"], heard);
        await cancel.CancelAsync();
    }

    [Fact]
    public async Task The_session_stream_over_sse_starts_with_a_snapshot_and_follows_the_session()
    {
        using var httpA = _nodeA.CreateHttpClient();
        using var httpB = _nodeB.CreateHttpClient();
        using var safety = new CancellationTokenSource(SafetyTimeout);
        using var response = await httpB.GetAsync(Api("/api/sessions/sse-chat/stream"), HttpCompletionOption.ResponseHeadersRead, safety.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        await using var messages = ServerSentEvents.ReadAsync(await response.Content.ReadAsStreamAsync(safety.Token), safety.Token)
            .Where(m => m.Event is not null).GetAsyncEnumerator(safety.Token);

        Assert.True(await messages.MoveNextAsync());
        Assert.Equal("snapshot", messages.Current.Event);
        Assert.Equal(0, JsonDocument.Parse(messages.Current.Data!).RootElement.GetProperty("messages").GetArrayLength());

        (await httpA.PostAsJsonAsync(Api("/api/sessions/sse-chat/messages/m1/events"), new { type = "answer", content = "y" })).Dispose();
        Assert.True(await messages.MoveNextAsync());
        Assert.Equal("started", messages.Current.Event);
        var message = JsonDocument.Parse(messages.Current.Data!).RootElement.GetProperty("message");
        Assert.Equal(("m1", "streaming", 1), (message.GetProperty("messageId").GetString(), message.GetProperty("state").GetString(), message.GetProperty("nextOffset").GetInt32()));
    }

    [Fact]
    public async Task A_deleted_stream_ends_its_hub_and_sse_readers_on_both_nodes_and_is_refused_to_every_later_read()
    {
        using var httpA = _nodeA.CreateHttpClient();
        using var httpB = _nodeB.CreateHttpClient();
        (await httpA.PostAsJsonAsync(Api("/api/sessions/doomed/messages/m1/events"), new { type = "answer", content = "x" })).Dispose();
        await using var hubA = await _nodeA.ConnectAsync();
        await using var hubB = await _nodeB.ConnectAsync();
        using var safety = new CancellationTokenSource(SafetyTimeout);

        // Each reader says when it has the stream's first event: it is live, waiting for the next.
        var live = Enumerable.Range(0, 4).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();

        async Task<string> HubReader(HubConnection hub, TaskCompletionSource started)
        {
            var error = await Assert.ThrowsAsync<HubException>(async () =>
            {
                await foreach (var _ in hub.StreamAsync<StreamEvent>("StreamEvents", "doomed", "m1", 0L, safety.Token))
                {
                    started.TrySetResult();
                }
            });
            return StreamErrors.FromMessage(error.Message).ToString()!;
        }

        async Task<string> SseReader(HttpClient http, TaskCompletionSource started)
        {
            using var response = await http.GetAsync(Api("/api/sessions/doomed/messages/m1/stream"), HttpCompletionOption.ResponseHeadersRead, safety.Token);
            var last = "";
            await foreach (var message in ServerSentEvents.ReadAsync(await response.Content.ReadAsStreamAsync(safety.Token), safety.Token))
            {
                started.TrySetResult();
                last = message.Event == "error" ? JsonDocument.Parse(message.Data!).RootElement.GetProperty("code").GetString()! : last;
            }

            return last;
        }

        var readers = new[] { HubReader(hubA, live[0]), HubReader(hubB, live[1]), SseReader(httpA, live[2]), SseReader(httpB, live[3]) };
        await Task.WhenAll(live.Select(l => l.Task)).WaitAsync(SafetyTimeout);
        var deleting = Stopwatch.StartNew();
        using var deleted = await httpA.DeleteAsync(Api("/api/sessions/doomed/messages/m1"));
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.True((await deleted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deleted").GetBoolean());

        Assert.Equal(["StreamDeleted", "StreamDeleted", "StreamDeleted", "StreamDeleted"], await Task.WhenAll(readers).WaitAsync(SafetyTimeout));
        Assert.InRange(deleting.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(1));

        using var page = await httpB.GetAsync(Api("/api/sessions/doomed/messages/m1/events?fromOffset=0"));
        Assert.Equal(HttpStatusCode.Gone, page.StatusCode);
        Assert.Equal("StreamDeleted", (await page.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        var resume = await Assert.ThrowsAsync<HubException>(async () =>
        {
            await foreach (var _ in hubB.StreamAsync<StreamEvent>("ResumeEvents", "doomed", "m1", 1L, "0123456789abcdef"))
            {
            }
        });
        Assert.Equal(StreamErrorCode.StreamDeleted, StreamErrors.FromMessage(resume.Message));
        var info = await Assert.ThrowsAsync<HubException>(() => hubB.InvokeAsync<StreamInfo>("GetStreamInfo", "doomed", "m1"));
        Assert.Equal(StreamErrorCode.StreamDeleted, StreamErrors.FromMessage(info.Message));
        using var append = await httpB.PostAsJsonAsync(Api("/api/sessions/doomed/messages/m1/events"), new { type = "answer", content = "late" });
        Assert.Equal(HttpStatusCode.Gone, append.StatusCode);
    }

    [Fact]
    public async Task Deleting_a_session_of_a_thousand_messages_is_one_request_and_empties_its_listing_on_every_node()
    {
        var session = "big-chat";
        // Written by 32 producers at a time, as a busy chat would: the point here is the delete, not a burst of 1,000.
        await Parallel.ForEachAsync(Enumerable.Range(0, 1000), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, cancellationToken) =>
            await _nodeA.Streams.AppendAsync(HubStreams.Streams.StreamKey.Create(session, $"m{i}"), new StreamEvent { Type = EventTypes.Answer, Content = "x" }, cancellationToken));
        using var httpB = _nodeB.CreateHttpClient();
        var listed = await httpB.GetFromJsonAsync<JsonElement>(Api($"/api/sessions/{session}/messages"));
        Assert.Equal(100, listed.GetProperty("messages").GetArrayLength());
        Assert.Equal(JsonValueKind.String, listed.GetProperty("next").ValueKind);

        await using var hubA = await _nodeA.ConnectAsync();
        var deleted = await hubA.InvokeAsync<int>("DeleteSession", session).WaitAsync(SafetyTimeout);

        Assert.Equal(1000, deleted);
        foreach (var http in new[] { _nodeA.CreateHttpClient(), httpB })
        {
            var page = await http.GetFromJsonAsync<JsonElement>(Api($"/api/sessions/{session}/messages"));
            Assert.Equal(0, page.GetProperty("messages").GetArrayLength());
        }

        using var read = await httpB.GetAsync(Api($"/api/sessions/{session}/messages/m999/events"));
        Assert.Equal(HttpStatusCode.Gone, read.StatusCode);
    }

    [Fact]
    public async Task A_session_lists_exactly_the_streams_that_exist_after_the_node_writing_them_was_killed_mid_write()
    {
        const string session = "killed-mid-write";
        await using var doomed = await ServerProcess.StartRedisNodeAsync(redis, _prefix, ("LIMIT_APPENDS_PER_SECOND", "100000"), ("LIMIT_APPEND_BURST", "100000"));
        using var http = new HttpClient { BaseAddress = doomed.BaseAddress, Timeout = SafetyTimeout };

        // Sixteen writers start message after message on one node, which is SIGKILLed while their appends are on their way.
        var attempted = 0;
        var writers = Enumerable.Range(0, 16).Select(async writer =>
        {
            for (var n = 0; ; n++)
            {
                Interlocked.Increment(ref attempted);
                try
                {
                    using var response = await http.PostAsJsonAsync(Api($"/api/sessions/{session}/messages/w{writer}-{n}/events"), new { type = "answer", content = "x" });
                    response.EnsureSuccessStatusCode();
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    return; // The node died under it.
                }
            }
        }).ToArray();
        await Eventually.True(async () => (await _nodeA.Streams.ListSessionAsync(session, null, 100)).Next is not null);
        doomed.Kill();
        await Task.WhenAll(writers).WaitAsync(SafetyTimeout);

        // What exists, asked of Redis itself (a read through a node would record what it finds in the index).
        var existing = new List<string>();
        foreach (var server in redis.Connection.GetServers().Where(s => s.IsConnected && !s.IsReplica))
        {
            await foreach (var key in server.KeysAsync(pattern: $"{_prefix}:{session}:*"))
            {
                existing.Add(((string)key!)[$"{_prefix}:{session}:".Length..]);
            }
        }

        var listed = new List<string>();
        string? after = null;
        do
        {
            var page = await _nodeB.Streams.ListSessionAsync(session, after, 100);
            listed.AddRange(page.Messages.Select(m => m.MessageId));
            after = page.Next;
        }
        while (after is not null);

        Assert.InRange(existing.Count, 100, attempted);
        Assert.Equal(existing.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
    }
}
