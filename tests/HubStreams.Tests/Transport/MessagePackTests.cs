using System.Net.Http.Json;
using System.Text.Json;
using HubStreams.Client;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using MessagePack;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Transport;

/// <summary>
/// SignalR's MessagePack protocol on a real node: events whose data has any JSON shape arrive exactly as stored, in
/// either protocol; MessagePack that JSON could not hold is refused with a code, nothing stored, the connection kept.
/// </summary>
public sealed class MessagePackTests : IAsyncLifetime
{
    private HubStreamsServer _server = null!;

    public async Task InitializeAsync() => _server = await HubStreamsServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public static TheoryData<string> DataShapes => new()
    {
        """{"a":1,"b":[1,2.5,-3,"x",null,true,false],"c":{"d":{"e":[]}},"f":{}}""",
        """[1,{"k":"v"},[[]],[{"deep":[{"er":[1]}]}]]""",
        "\"text with \\u00e9, \\ud83d\\ude00 and \\\"quotes\\\"\"",
        "18446744073709551615",
        "-9223372036854775808",
        "1.5e300",
        "0.1",
        "true",
    };

    [Theory]
    [MemberData(nameof(DataShapes))]
    public async Task Data_of_any_json_shape_appended_over_messagepack_reads_back_the_same_in_both_protocols(string json)
    {
        // An event's data is an object; the shape under test is one of its values.
        var expected = JsonDocument.Parse($$"""{"value":{{json}},"beside":[{{json}}]}""").RootElement;
        var messageId = $"m-{Guid.NewGuid():N}";
        _server.Protocol = HubProtocol.MessagePack;
        await using var binary = await _server.ConnectAsync();
        _server.Protocol = HubProtocol.Json;
        await using var text = await _server.ConnectAsync();

        var offset = await binary.InvokeAsync<long>("AppendEvent", "shapes", messageId, new StreamEvent { Type = EventTypes.ToolResult, Data = expected });
        await binary.InvokeAsync<long>("AppendEvent", "shapes", messageId, new StreamEvent { Type = EventTypes.Complete });

        var stored = (await _server.Streams.ReadAsync(StreamKey.Create("shapes", messageId), 0)).Events[0];
        Assert.True(JsonElement.DeepEquals(expected, stored.Data!.Value), $"stored {stored.Data}");
        foreach (var hub in new[] { binary, text })
        {
            var read = await hub.StreamAsync<StreamEvent>("FollowStream", new { sessionId = "shapes", messageId }).ToListAsync();
            Assert.Equal([offset, offset + 1], read.Select(e => e.Offset));
            Assert.True(JsonElement.DeepEquals(expected, read[0].Data!.Value), $"read {read[0].Data}");
            Assert.Equal((stored.Id, stored.Timestamp, stored.StreamId), (read[0].Id, read[0].Timestamp, read[0].StreamId));
        }
    }

    [Theory]
    [InlineData(HubProtocol.MessagePack, "messagepack")]
    [InlineData(HubProtocol.Json, "json")]
    public async Task The_packaged_client_speaks_the_protocol_it_is_given(HubProtocol protocol, string name)
    {
        await using var server = await HubStreamsServer.StartAsync(("Logging:LogLevel:Microsoft.AspNetCore.SignalR", "Debug"));
        var options = new HubStreamsClientOptions { Protocol = protocol };
        options.HubUrls.Add(new Uri(server.BaseAddress, "/hubs/streams"));
        await using var connection = new HubStreamsClient(options).CreateConnection(options.HubUrls[0]);
        await connection.StartAsync();

        await Eventually.True(() => server.Logs.Any(line => line.Contains("Using HubProtocol '", StringComparison.Ordinal)));
        Assert.Contains(server.Logs, line => line.Contains($"Using HubProtocol '{name}'", StringComparison.Ordinal));
    }

    public static TheoryData<string, string, string> HostileArguments => new()
    {
        { "binary data as the event", "AppendEvent", "InvalidEvent" },
        { "an extension value as the event", "AppendEvent", "InvalidEvent" },
        { "a map key that is a number", "AppendEvent", "InvalidEvent" },
        { "data nested 200 deep", "AppendEvent", "InvalidEvent" },
        { "data of a map with 30,000 entries", "AppendEvent", "EventTooLarge" },
        { "an array as the event", "AppendEvent", "InvalidEvent" },
        { "a string as the offset", "AppendEventAt", "InvalidOffset" },
        { "a map nested 200 deep as the offset", "AppendEventAt", "InvalidOffset" },
        { "a float as the offset", "AppendEventAt", "InvalidOffset" },
    };

    [Theory]
    [MemberData(nameof(HostileArguments))]
    public async Task Hostile_messagepack_is_refused_with_a_code_nothing_is_stored_and_the_connection_serves_on(string what, string method, string code)
    {
        var messageId = $"m-{Guid.NewGuid():N}";
        await using var hub = await RawMessagePackHubClient.ConnectAsync(_server.BaseAddress);
        byte[] session = Str("hostile"), message = Str(messageId);

        var completion = method == "AppendEvent"
            ? await hub.InvokeAsync(method, session, message, Hostile(what))
            : await hub.InvokeAsync(method, session, message, Hostile(what), Answer());

        Assert.True(StreamErrors.FromMessage(completion.Error)?.ToString() == code, $"{what}: {completion}");
        Assert.Empty((await _server.Streams.ReadAsync(StreamKey.Create("hostile", messageId), 0)).Events);
        var after = await hub.InvokeAsync("AppendEvent", session, message, Answer());
        Assert.True(after is { Error: null, HasResult: true }, after.ToString());
        Assert.DoesNotContain(_server.Logs, line => line.StartsWith("Error", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_map_whose_header_claims_more_than_the_message_holds_is_malformed_the_connection_closes_and_nothing_is_stored()
    {
        // As a message that is not JSON closes a JSON connection: SignalR cannot read the message's end.
        var messageId = $"m-{Guid.NewGuid():N}";
        await using (var hub = await RawMessagePackHubClient.ConnectAsync(_server.BaseAddress))
        {
            var lying = RawMessagePackHubClient.Value((ref MessagePackWriter w) =>
            {
                w.WriteMapHeader(2_000_000_000);
                w.Write("type");
                w.Write("answer");
            });
            await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => hub.InvokeAsync("AppendEvent", Str("hostile"), Str(messageId), lying));
        }

        Assert.Empty((await _server.Streams.ReadAsync(StreamKey.Create("hostile", messageId), 0)).Events);
        await using var next = await RawMessagePackHubClient.ConnectAsync(_server.BaseAddress);
        Assert.True(await next.InvokeAsync("AppendEvent", Str("hostile"), Str(messageId), Answer()) is { Error: null, HasResult: true });
        Assert.DoesNotContain(_server.Logs, line => line.StartsWith("Error", StringComparison.Ordinal));
    }

    private static byte[] Str(string value) => RawMessagePackHubClient.Value((ref MessagePackWriter w) => w.Write(value));

    private static byte[] Answer() => RawMessagePackHubClient.Value((ref MessagePackWriter w) =>
    {
        w.WriteMapHeader(2);
        w.Write("type");
        w.Write("answer");
        w.Write("content");
        w.Write("after");
    });

    private static byte[] Hostile(string what) => RawMessagePackHubClient.Value((ref MessagePackWriter w) =>
    {
        switch (what)
        {
            case "binary data as the event":
                w.Write(new byte[] { 1, 2, 3 });
                break;
            case "an extension value as the event":
                w.WriteExtensionFormat(new ExtensionResult(5, new byte[] { 1, 2 }));
                break;
            case "a map key that is a number":
                w.WriteMapHeader(2);
                w.Write("type");
                w.Write("answer");
                w.Write(7);
                w.Write("seven");
                break;
            case "data nested 200 deep" or "a map nested 200 deep as the offset":
                if (what.StartsWith("data", StringComparison.Ordinal))
                {
                    w.WriteMapHeader(2);
                    w.Write("type");
                    w.Write("answer");
                    w.Write("data");
                }

                for (var i = 0; i < 200; i++)
                {
                    w.WriteMapHeader(1);
                    w.Write("a");
                }

                w.Write(1);
                break;
            case "data of a map with 30,000 entries":
                w.WriteMapHeader(2);
                w.Write("type");
                w.Write("answer");
                w.Write("data");
                w.WriteMapHeader(30_000);
                for (var i = 0; i < 30_000; i++)
                {
                    w.Write($"k{i}");
                    w.Write(i);
                }

                break;
            case "an array as the event":
                w.WriteArrayHeader(1);
                w.Write("answer");
                break;
            case "a string as the offset":
                w.Write("5");
                break;
            case "a float as the offset":
                w.Write(1.5);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(what), what, null);
        }
    });
}

/// <summary>A .NET reader on MessagePack resumes on the other node when its node is SIGKILLed, with no gap and no duplicate.</summary>
[Collection(RedisTests.Name)]
public sealed class MessagePackFailoverTests(RedisFixture redis)
{
    [Fact]
    public async Task A_messagepack_reader_on_a_killed_node_resumes_on_the_other_with_every_event_once()
    {
        const int count = 400;
        var prefix = RedisFixture.UniquePrefix();
        await using var nodeB = await ServerProcess.StartRedisNodeAsync(redis, prefix);
        await using var nodeA = await ServerProcess.StartRedisNodeAsync(redis, prefix);
        var key = StreamKey.Create("msgpack-failover", $"m-{Guid.NewGuid():N}");
        using var producing = new CancellationTokenSource(Eventually.SafetyTimeout);
        using var http = new HttpClient { BaseAddress = nodeB.BaseAddress };
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                (await http.PostAsJsonAsync($"/api/sessions/{key.SessionId}/messages/{key.MessageId}/events",
                    new { type = "answer", content = $"{i} ", data = new { i, nested = new[] { i, i + 1 } } }, producing.Token)).EnsureSuccessStatusCode();
                await Task.Delay(3, producing.Token);
            }

            (await http.PostAsJsonAsync($"/api/sessions/{key.SessionId}/messages/{key.MessageId}/events", new { type = "complete" }, producing.Token)).EnsureSuccessStatusCode();
        });

        var reader = Readers.Read([nodeA.HubUrl, nodeB.HubUrl], key.SessionId, key.MessageId, protocol: HubProtocol.MessagePack);
        var events = new List<StreamEvent>();
        await foreach (var e in reader.WithCancellation(producing.Token))
        {
            events.Add(e);
            if (e.Offset == 100)
            {
                nodeA.Kill();
            }
        }

        await producer;
        Assert.Equal(Enumerable.Range(0, count + 1).Select(i => (long)i), events.Select(e => e.Offset));
        Assert.Equal(0, reader.SkippedDuplicates);
        Assert.Equal(nodeB.HubUrl, reader.CurrentHubUrl);
        Assert.All(events.SkipLast(1), e => Assert.Equal(e.Offset, e.Data!.Value.GetProperty("i").GetInt64()));
        Assert.Equal(string.Concat(Enumerable.Range(0, count).Select(i => $"{i} ")), string.Concat(events.Select(e => e.Content)));
    }
}
