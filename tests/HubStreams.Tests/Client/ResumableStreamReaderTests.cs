using HubStreams.Client;
using HubStreams.ClientSample;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Client;

[Collection(RedisTests.Name)]
public sealed class ResumableStreamReaderTests(RedisFixture redis)
{
    private static Uri HubUrl(HubStreamsServer server) => new(server.BaseAddress, "/hubs/streams");

    [Fact]
    public async Task Reads_a_whole_stream_to_complete_once_each()
    {
        await using var server = await HubStreamsServer.StartAsync(("DEMO_CHUNK_INTERVAL", "00:00:00.002"));
        using (var http = server.CreateHttpClient())
        {
            (await http.PostAsync(new Uri("/api/demo/sessions/reader/messages/m1", UriKind.Relative), null)).EnsureSuccessStatusCode();
        }

        var reader = Readers.Read([HubUrl(server)], "reader", "m1");
        var events = new List<StreamEvent>();
        await foreach (var e in reader.WithCancellation(new CancellationTokenSource(Eventually.SafetyTimeout).Token))
        {
            events.Add(e);
        }

        Assert.Equal(Enumerable.Range(0, events.Count).Select(i => (long)i), events.Select(e => e.Offset));
        Assert.Equal(EventTypes.Complete, events[^1].Type);
        Assert.Equal(events.Count, reader.NextOffset);
    }

    [Fact]
    public async Task An_unknown_stream_is_a_final_error_not_a_retry()
    {
        await using var server = await HubStreamsServer.StartAsync();
        var statuses = new List<ReaderStatus>();
        var reader = Readers.Read([HubUrl(server)], "reader", "never", fromOffset: 5, onStatus: statuses.Add);

        var error = await Assert.ThrowsAsync<HubStreamsException>(async () =>
        {
            await foreach (var _ in reader.WithCancellation(new CancellationTokenSource(Eventually.SafetyTimeout).Token))
            {
            }
        });
        Assert.Equal(StreamErrorCode.StreamNotFound, error.Code);
        Assert.DoesNotContain(statuses, s => s.State == ReaderState.Reconnecting);
    }

    [Fact]
    public async Task Survives_its_node_going_away_and_coming_back_and_resumes_with_no_gap_and_no_duplicate()
    {
        var prefix = RedisFixture.UniquePrefix();
        var port = RedisServerProcess.FreePort();
        await using var producerNode = await HubStreamsServer.StartRedisAsync(redis, prefix);
        var readerNode = await HubStreamsServer.StartRedisOnPortAsync(port, redis, prefix);
        var key = StreamKey.Create("restart", "m1");
        const int count = 300;

        using var producing = new CancellationTokenSource(Eventually.SafetyTimeout);
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                await producerNode.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = $"{i} " }, producing.Token);
                await Task.Delay(5, producing.Token);
            }

            await producerNode.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Complete }, producing.Token);
        });

        var statuses = new List<ReaderStatus>();
        var reader = Readers.Read([new Uri($"http://127.0.0.1:{port}/hubs/streams")], key.SessionId, key.MessageId,
            onStatus: statuses.Add, maxRetryDelay: TimeSpan.FromMilliseconds(200));
        var events = new List<StreamEvent>();
        await foreach (var e in reader.WithCancellation(producing.Token))
        {
            events.Add(e);
            if (e.Offset == 50)
            {
                // The reader's node goes away mid-stream, and a new one comes up at the same address.
                await readerNode.DisposeAsync();
                readerNode = await HubStreamsServer.StartRedisOnPortAsync(port, redis, prefix);
            }
        }

        await producer;
        await readerNode.DisposeAsync();
        Assert.Equal(Enumerable.Range(0, count + 1).Select(i => (long)i), events.Select(e => e.Offset));
        Assert.Contains(statuses, s => s.State == ReaderState.Resumed && s.NextOffset == 51);
    }

    [Fact]
    public async Task A_compacted_reader_gets_the_answer_so_far_merged_and_resumes_across_its_node_going_away_with_the_text_stored()
    {
        var prefix = RedisFixture.UniquePrefix();
        var port = RedisServerProcess.FreePort();
        await using var producerNode = await HubStreamsServer.StartRedisAsync(redis, prefix);
        var readerNode = await HubStreamsServer.StartRedisOnPortAsync(port, redis, prefix);
        var key = StreamKey.Create("compact", $"m-{Guid.NewGuid():N}");
        for (var i = 0; i < 300; i++)
        {
            await producerNode.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = $"{i} " });
        }

        using var producing = new CancellationTokenSource(Eventually.SafetyTimeout);
        var producer = Task.Run(async () =>
        {
            for (var i = 300; i < 500; i++)
            {
                await producerNode.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = $"{i} " }, producing.Token);
                await Task.Delay(5, producing.Token);
            }

            await producerNode.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Complete }, producing.Token);
        });

        var reader = Readers.Read([new Uri($"http://127.0.0.1:{port}/hubs/streams")], key.SessionId, key.MessageId,
            maxRetryDelay: TimeSpan.FromMilliseconds(200), compact: true);
        var events = new List<StreamEvent>();
        await foreach (var e in reader.WithCancellation(producing.Token))
        {
            events.Add(e);
            if (events.Count == 1)
            {
                // The reader's node goes away after the catch-up, and a new one comes up at the same address.
                await readerNode.DisposeAsync();
                readerNode = await HubStreamsServer.StartRedisOnPortAsync(port, redis, prefix);
            }
        }

        await producer;
        await readerNode.DisposeAsync();
        Assert.Equal((0L, true), (events[0].FirstOffset ?? -1, events[0].Offset >= 299));
        var next = 0L;
        foreach (var e in events)
        {
            Assert.Equal(next, e.FirstOffset ?? e.Offset);
            next = e.Offset + 1;
        }

        var stored = (await producerNode.Streams.ReadAsync(key, 0)).Events;
        Assert.Equal(string.Concat(stored.Select(e => e.Content)), string.Concat(events.Select(e => e.Content)));
        Assert.True(events.Count < stored.Count, $"{events.Count} events for {stored.Count} stored");
        Assert.Contains(events.Skip(1), e => e.FirstOffset is not null); // the resume's catch-up came merged too
    }

    [Theory]
    [InlineData(new[] { "--message", "m" }, "--session is required")]
    [InlineData(new[] { "--session", "a:b", "--message", "m" }, "--session must be")]
    [InlineData(new[] { "--session", "s", "--message", "m", "--from", "-3" }, "--from must be an offset")]
    [InlineData(new[] { "--session", "s", "--message", "m", "--url", "ftp://x" }, "--url must be")]
    [InlineData(new[] { "--session", "s", "--message", "m", "--url", "http://a:1,nope" }, "--url must be")]
    [InlineData(new[] { "--session", "s", "--message", "m", "--colour" }, "unknown argument '--colour'")]
    [InlineData(new[] { "--session" }, "--session needs a value")]
    public void Bad_arguments_are_named(string[] args, string expected)
    {
        Assert.False(ClientArguments.TryParse(args, out _, out var problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Good_arguments_are_read()
    {
        Assert.True(ClientArguments.TryParse(["--url", "http://h:1", "--session", "s", "--message", "m", "--from", "7", "--demo"], out var a, out _));
        Assert.Equal((new Uri("http://h:1"), "s", "m", 7L, true), (a.Url, a.SessionId, a.MessageId, a.FromOffset, a.StartDemo));
        Assert.True(ClientArguments.TryParse(["--url", "http://a:1, http://b:2", "--session", "s", "--message", "m"], out var farm, out _));
        Assert.Equal([new Uri("http://a:1"), new Uri("http://b:2")], farm.Urls);
    }

    [Fact]
    public async Task The_console_client_follows_a_demo_on_a_server_that_requires_tokens()
    {
        await using var server = await HubStreamsServer.StartAsync([.. Tokens.Settings, ("DEMO_CHUNK_INTERVAL", "00:00:00.002")]);
        var token = Tokens.Mint("console", ["console-session"], producer: true);
        var url = server.BaseAddress.ToString().TrimEnd('/');

        var withToken = await Shell.RunAsync($"dotnet '{Repository.ClientSampleDll}' --url {url} --session console-session --message m1 --demo --token {token}");
        Assert.True(withToken.ExitCode == 0, withToken.ToString());
        Assert.Contains("complete", withToken.Output, StringComparison.Ordinal);

        var fromEnvironment = await Shell.RunAsync($"dotnet '{Repository.ClientSampleDll}' --url {url} --session console-session --message m1",
            environment: [("HUBSTREAMS_TOKEN", token)]);
        Assert.True(fromEnvironment.ExitCode == 0, fromEnvironment.ToString());

        var denied = await Shell.RunAsync($"dotnet '{Repository.ClientSampleDll}' --url {url} --session other --message m1 --token {token}");
        Assert.Equal(3, denied.ExitCode);
        Assert.Contains("error: AccessDenied: The token does not grant session other.", denied.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("AccessDenied: AccessDenied", denied.Errors, StringComparison.Ordinal);
    }
}
