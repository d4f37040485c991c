using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using CsCheck;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Security;

/// <summary>
/// Random and adversarial ids, offsets, types and payloads thrown at HTTP and at the hub: no 5xx, no crash,
/// the hub connection survives, and nothing is stored except what the server acknowledged.
/// </summary>
public sealed class HostileInputTests : IAsyncLifetime
{
    private static string Nested(int depth) => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);

    // Past any JSON depth limit (64 by default in System.Text.Json and in SignalR's JSON protocol).
    private static readonly string Deep = Nested(5000);

    // Pieces that break naive code: separators, escapes, control and bidi characters, surrogate pairs, huge runs.
    private static readonly Gen<string> Piece = Gen.OneOf(
        "ok", "s-1", "A.b_c", ":", "/", "%2F", "..", " ", "\n", "\r\n", "\t", "\0", "\u001b[31m", "\u202e", "\u200b", "é", "漢字",
        "\U0001F600", "\"", "'", "<script>", "*", "complete", "stop", new string('x', 130), new string('ü', 70), "\uFFFF");

    private static readonly Gen<string> HostileString = Gen.OneOf(
        Piece,
        Gen.Select(Piece, Piece, Piece, (a, b, c) => a + b + c),
        Gen.String);

    private static readonly Gen<long> HostileOffset = Gen.OneOf(
        Gen.OneOf(0L, 1L, -1L, long.MaxValue, long.MinValue, int.MaxValue + 1L, 99_999_999_999L),
        Gen.Long);

    private static readonly Gen<string> HostileBody = Gen.OneOf(
        Gen.OneOf(
            "", "null", "[]", "\"answer\"", "{", "{}", "{\"type\":null}", "{\"type\":\"answer\",\"type\":\"complete\"}",
            "{\"type\":\"answer\",\"done\":1e999}", "{\"type\":\"answer\",\"offset\":-5}", "{\"type\":\"answer\",\"timestamp\":\"2026-13-45\"}",
            "{\"type\":\"answer\",\"data\":{\"n\":1e400}}", "{\"type\":\"answer\",\"data\":[1,2]}", "{\"type\":\"answer\",\"content\":\"\\u0000\\ud800\"}",
            "{\"type\":\"answer\",\"data\":" + Deep + "}", "{\"type\":\"" + new string('t', 10_000) + "\"}", "\uFEFF{\"type\":\"answer\"}"),
        HostileString.Select(type => JsonSerializer.Serialize(new { type, content = type })));

    private HubStreamsServer _server = null!;
    private readonly ConcurrentDictionary<StreamKey, long> _acknowledged = new();
    private readonly ConcurrentDictionary<StreamKey, bool> _touched = new();

    public async Task InitializeAsync() => _server = await HubStreamsServer.StartAsync(("LIMIT_APPENDS_PER_SECOND", "100000"), ("LIMIT_APPEND_BURST", "100000"));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Http_never_answers_5xx_and_stores_only_what_it_acknowledged()
    {
        using var http = _server.CreateHttpClient();
        var gen = Gen.Select(HostileString, HostileString, HostileBody, HostileOffset);
        await gen.SampleAsync(async (session, message, body, offset) =>
        {
            var route = $"/api/sessions/{Uri.EscapeDataString(Safe(session))}/messages/{Uri.EscapeDataString(Safe(message))}";
            using (var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)))
            {
                content.Headers.ContentType = new("application/json");
                using var append = await http.PostAsync(new Uri(route + "/events", UriKind.Relative), content);
                Assert.True((int)append.StatusCode < 500, $"POST {route}/events {body.Length} bytes: {(int)append.StatusCode}");
                Record(session, message, append.StatusCode == HttpStatusCode.Created);
            }

            using var read = await http.GetAsync(new Uri($"{route}/events?fromOffset={offset}", UriKind.Relative));
            Assert.True((int)read.StatusCode < 500, $"GET {route}/events?fromOffset={offset}: {(int)read.StatusCode}");

            using var request = new HttpRequestMessage(HttpMethod.Get, $"{route}/stream?fromOffset={offset}");
            request.Headers.TryAddWithoutValidation("Last-Event-ID", new string(message.Where(c => c is > ' ' and < '\u007f').ToArray()));
            using var sse = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.True((int)sse.StatusCode < 500, $"GET {route}/stream: {(int)sse.StatusCode}");
        }, iter: 150, threads: 1);

        await AssertOnlyAcknowledgedEventsAreStoredAsync();
    }

    [Fact]
    public async Task The_hub_answers_every_hostile_call_with_a_result_or_a_hub_exception_and_the_connection_survives()
    {
        await using var hub = await _server.ConnectAsync();
        var gen = Gen.Select(HostileString, HostileString, HostileString, HostileOffset);
        await gen.SampleAsync(async (session, message, type, offset) =>
        {
            using var data = JsonDocument.Parse(Nested(60));
            var events = new[]
            {
                new StreamEvent { Type = type, Content = type },
                new StreamEvent { Type = "answer", Id = type, Content = message, Offset = offset },
                new StreamEvent { Type = "answer", Data = JsonDocument.Parse(JsonSerializer.Serialize(new Dictionary<string, string> { [type] = message })).RootElement },
                new StreamEvent { Type = "answer", Data = data.RootElement.Clone() },
            };
            foreach (var streamEvent in events)
            {
                try
                {
                    await hub.InvokeAsync<long>("AppendEvent", session, message, streamEvent);
                    Record(session, message, acknowledged: true);
                }
                catch (HubException)
                {
                    Record(session, message, acknowledged: false);
                }
            }

            try
            {
                using var brief = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
                await foreach (var _ in hub.StreamAsync<StreamEvent>("StreamEvents", session, message, offset, brief.Token))
                {
                }
            }
            catch (Exception e) when (e is HubException or OperationCanceledException)
            {
                // Refused, or still waiting when the brief look ended.
            }

            Assert.Equal(HubConnectionState.Connected, hub.State);
        }, iter: 100, threads: 1);

        Assert.Equal(HubConnectionState.Connected, hub.State);
        Assert.True(await hub.InvokeAsync<long>("AppendEvent", "still", "alive", new StreamEvent { Type = "answer" }) >= 0);
        await AssertOnlyAcknowledgedEventsAreStoredAsync();
    }

    [Fact]
    public async Task A_hub_message_nested_past_the_protocol_limit_closes_only_its_own_connection_and_stores_nothing()
    {
        await using var bystander = await _server.ConnectAsync();
        await using var attacker = await _server.ConnectAsync();
        using var data = JsonDocument.Parse(Deep, new JsonDocumentOptions { MaxDepth = 6000 });

        // SignalR's JSON protocol cannot parse it, and ends that connection as it does any protocol violation.
        await Assert.ThrowsAnyAsync<Exception>(() =>
            attacker.InvokeAsync<long>("AppendEvent", "deep", "m1", new StreamEvent { Type = "answer", Data = data.RootElement.Clone() }));

        Assert.Empty((await _server.Streams.ReadAsync(StreamKey.Create("deep", "m1"), 0)).Events);
        Assert.Equal(HubConnectionState.Connected, bystander.State);
        Assert.Equal(0, await bystander.InvokeAsync<long>("AppendEvent", "deep", "m2", new StreamEvent { Type = "answer" }));

        // Over HTTP the same body is a 400.
        using var http = _server.CreateHttpClient();
        using var response = await http.PostAsync(new Uri("/api/sessions/deep/messages/m3/events", UriKind.Relative),
            new StringContent("{\"type\":\"answer\",\"data\":" + Deep + "}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private static string Safe(string text) => text.Normalize() is var s && s.All(c => !char.IsSurrogate(c)) ? s : new string(s.Where(c => !char.IsSurrogate(c)).ToArray());

    private void Record(string session, string message, bool acknowledged)
    {
        if (!StreamKey.IsValidId(Safe(session)) || !StreamKey.IsValidId(Safe(message)))
        {
            Assert.False(acknowledged, $"An append to invalid ids '{session}'/'{message}' was acknowledged.");
            return;
        }

        var key = StreamKey.Create(Safe(session), Safe(message));
        _touched[key] = true;
        if (acknowledged)
        {
            _acknowledged.AddOrUpdate(key, 1, static (_, n) => n + 1);
        }
    }

    private async Task AssertOnlyAcknowledgedEventsAreStoredAsync()
    {
        foreach (var key in _touched.Keys)
        {
            var stored = (await _server.Streams.ReadAsync(key, 0)).NextOffset;
            Assert.Equal(_acknowledged.GetValueOrDefault(key), stored);
        }

        using var http = _server.CreateHttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
    }
}
