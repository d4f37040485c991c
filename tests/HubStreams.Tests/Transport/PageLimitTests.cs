using System.Net.Http.Json;
using System.Text.Json;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Transport;

/// <summary>A page is bounded whatever the client asks for, and a follower still gets every event, page after page.</summary>
public sealed class PageLimitTests : IAsyncLifetime
{
    private HubStreamsServer _server = null!;

    public async Task InitializeAsync() => _server = await HubStreamsServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_huge_limit_is_capped_by_count()
    {
        var key = StreamKey.Create("pages", "count");
        for (var i = 0; i < 1_500; i++)
        {
            await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = "x" });
        }

        using var http = _server.CreateHttpClient();
        var page = await http.GetFromJsonAsync<JsonElement>(new Uri("/api/sessions/pages/messages/count/events?limit=2147483647", UriKind.Relative));
        Assert.Equal(StreamOptions.DefaultMaxPageEvents, page.GetProperty("events").GetArrayLength());
        Assert.Equal(StreamOptions.DefaultMaxPageEvents, page.GetProperty("nextOffset").GetInt64());
    }

    [Fact]
    public async Task A_page_of_large_events_is_capped_by_bytes_and_sse_still_delivers_them_all()
    {
        await using var server = await HubStreamsServer.StartAsync(("STREAM_MAX_PAGE_BYTES", "65536"));
        var key = StreamKey.Create("pages", "bytes");
        var content = new string('y', 8_000);
        for (var i = 0; i < 40; i++)
        {
            await server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = content });
        }

        await server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Complete });
        using var http = server.CreateHttpClient();
        using var response = await http.GetAsync(new Uri("/api/sessions/pages/messages/bytes/events?limit=1000", UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        Assert.InRange(body.Length, 1, 65_536 + 8_100);
        Assert.Equal(8, JsonDocument.Parse(body).RootElement.GetProperty("events").GetArrayLength());

        using var stream = await http.GetAsync(new Uri("/api/sessions/pages/messages/bytes/stream", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        var offsets = new List<long>();
        await foreach (var message in ServerSentEvents.ReadAsync(await stream.Content.ReadAsStreamAsync()))
        {
            if (message.Id is { } id)
            {
                offsets.Add(long.Parse(id.Split(':')[0], System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        Assert.Equal(Enumerable.Range(0, 41).Select(i => (long)i), offsets);
    }

    [Theory]
    [InlineData("fromOffset=0", 1_000, false)]
    [InlineData("fromOffset=0&limit=10", 10, false)]
    [InlineData("fromOffset=1000", 1_501, true)]
    [InlineData("fromOffset=1490&limit=10", 1_500, false)]
    [InlineData("fromOffset=1491&limit=10", 1_501, true)]
    [InlineData("fromOffset=1501", 1_501, true)]
    public async Task A_page_says_completed_only_when_nothing_follows_its_next_offset(string query, long nextOffset, bool completed)
    {
        // 1,500 answers and the complete: offsets 0 to 1,500. The first page is cut at STREAM_MAX_PAGE_EVENTS (1,000).
        var key = StreamKey.Create("pages", "completed");
        for (var i = 0; i < 1_500; i++)
        {
            await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = "x" });
        }

        await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Complete });

        using var http = _server.CreateHttpClient();
        var page = await http.GetFromJsonAsync<JsonElement>(new Uri($"/api/sessions/pages/messages/completed/events?{query}", UriKind.Relative));
        Assert.Equal(nextOffset, page.GetProperty("nextOffset").GetInt64());
        Assert.Equal(completed, page.GetProperty("completed").GetBoolean());
    }

    [Fact]
    public async Task A_client_that_reads_pages_until_completed_gets_every_event_of_a_byte_capped_stream()
    {
        await using var server = await HubStreamsServer.StartAsync(("STREAM_MAX_PAGE_BYTES", "65536"));
        var key = StreamKey.Create("pages", "until-completed");
        for (var i = 0; i < 40; i++)
        {
            await server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = new string('z', 8_000) });
        }

        await server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Complete });
        using var http = server.CreateHttpClient();
        var offsets = new List<long>();
        var next = 0L;
        while (true)
        {
            var page = await http.GetFromJsonAsync<JsonElement>(new Uri($"/api/sessions/pages/messages/until-completed/events?fromOffset={next}", UriKind.Relative));
            offsets.AddRange(page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("offset").GetInt64()));
            next = page.GetProperty("nextOffset").GetInt64();
            if (page.GetProperty("completed").GetBoolean())
            {
                break;
            }
        }

        Assert.Equal(Enumerable.Range(0, 41).Select(i => (long)i), offsets);

        // The hub's reader, page after page, the same.
        await using var hub = await server.ConnectAsync();
        var delivered = new List<long>();
        await foreach (var e in hub.StreamAsync<StreamEvent>("StreamEvents", "pages", "until-completed", 0L))
        {
            delivered.Add(e.Offset);
        }

        Assert.Equal(offsets, delivered);
    }
}
