using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HubStreams.Contracts;
using HubStreams.Server.Security;
using HubStreams.Streams;
using HubStreams.Streams.Memory;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace HubStreams.Tests.Security;

/// <summary>The per-client limits that keep one client from filling a node: each refuses with its code and names its setting.</summary>
public sealed class ResourceLimitTests
{
    private static readonly Uri Negotiate = new("/hubs/streams/negotiate?negotiateVersion=1", UriKind.Relative);

    [Fact]
    public async Task Negotiated_connections_count_against_their_client_until_their_transport_connects()
    {
        await using var server = await HubStreamsServer.StartAsync([.. Tokens.Settings, ("LIMIT_PENDING_CONNECTIONS", "3")]);
        using var flooder = server.CreateHttpClient(Tokens.Mint("flooder", ["*"]));
        // However the URL is spelled, routing takes it to the one negotiate endpoint, and it counts.
        Uri[] spellings = [Negotiate, new("/HUBS/streams/negotiate?negotiateVersion=1", UriKind.Relative), new("/hubs/streams/negotiate/?negotiateVersion=1", UriKind.Relative)];
        foreach (var spelling in spellings)
        {
            using var negotiated = await flooder.PostAsync(spelling, null);
            Assert.Equal(HttpStatusCode.OK, negotiated.StatusCode);
        }

        using (var refused = await flooder.PostAsync(Negotiate, null))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(nameof(StreamErrorCode.TooManyConnections), problem.GetProperty("code").GetString());
            Assert.Contains("LIMIT_PENDING_CONNECTIONS", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(3, server.Services.GetRequiredService<PendingConnections>().Count);

        // Another user is not held up by them, and a connection that connects no longer counts as pending.
        await using var other = await server.ConnectAsync(Tokens.Mint("other", ["*"]));
        await using var same = await server.ConnectAsync(Tokens.Mint("other", ["*"]));
        Assert.Equal(3, server.Services.GetRequiredService<PendingConnections>().Count);
    }

    [Fact]
    public async Task Joined_sessions_are_capped_per_connection_and_per_user_and_a_session_joined_twice_counts_once()
    {
        await using var server = await HubStreamsServer.StartAsync(
            [.. Tokens.Settings, ("LIMIT_SESSIONS_PER_CONNECTION", "3"), ("LIMIT_SESSIONS_PER_USER", "4")]);
        var token = Tokens.Mint("joiner", ["*"]);
        await using var first = await server.ConnectAsync(token);
        for (var i = 0; i < 3; i++)
        {
            await first.InvokeAsync("JoinSession", $"s{i}");
            await first.InvokeAsync("JoinSession", $"s{i}");
        }

        var perConnection = await Assert.ThrowsAsync<HubException>(() => first.InvokeAsync("JoinSession", "s3"));
        Assert.Equal(StreamErrorCode.TooManySubscriptions, StreamErrors.FromMessage(perConnection.Message));
        Assert.Contains("LIMIT_SESSIONS_PER_CONNECTION", perConnection.Message, StringComparison.Ordinal);

        await using var second = await server.ConnectAsync(token);
        await second.InvokeAsync("JoinSession", "t0");
        var perUser = await Assert.ThrowsAsync<HubException>(() => second.InvokeAsync("JoinSession", "t1"));
        Assert.Contains("LIMIT_SESSIONS_PER_USER", perUser.Message, StringComparison.Ordinal);

        // Leaving gives the place back; so does closing the connection.
        await first.InvokeAsync("LeaveSession", "s0");
        await second.InvokeAsync("JoinSession", "t1");
        await first.DisposeAsync();
        await using var third = await server.ConnectAsync(token);
        await Eventually.True(async () =>
        {
            try
            {
                await third.InvokeAsync("JoinSession", "u0");
                return true;
            }
            catch (HubException)
            {
                return false;
            }
        });
    }

    [Fact]
    public async Task Reads_over_the_read_rate_are_refused_with_their_code_on_every_transport()
    {
        await using var server = await HubStreamsServer.StartAsync(("LIMIT_READS_PER_SECOND", "1"), ("LIMIT_READ_BURST", "3"));
        await server.Streams.AppendAsync(StreamKey.Create("s", "m"), new StreamEvent { Type = EventTypes.Answer });
        using var http = server.CreateHttpClient();
        await using var hub = await server.ConnectAsync();
        var refusals = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            using var page = await http.GetAsync(new Uri("/api/sessions/s/messages/m/events", UriKind.Relative));
            if (page.StatusCode == HttpStatusCode.TooManyRequests)
            {
                var problem = await page.Content.ReadFromJsonAsync<JsonElement>();
                Assert.Equal(nameof(StreamErrorCode.RateLimited), problem.GetProperty("code").GetString());
                refusals.Add(problem.GetProperty("detail").GetString()!);
            }
        }

        Assert.InRange(refusals.Count, 2, 3);
        Assert.All(refusals, detail => Assert.Contains("LIMIT_READS_PER_SECOND", detail, StringComparison.Ordinal));

        var info = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<StreamInfo>("GetStreamInfo", "s", "m"));
        Assert.Equal(StreamErrorCode.RateLimited, StreamErrors.FromMessage(info.Message));
        var join = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync("JoinSession", "s"));
        Assert.Equal(StreamErrorCode.RateLimited, StreamErrors.FromMessage(join.Message));
    }

    [Fact]
    public async Task The_memory_store_refuses_appends_past_its_budget_on_every_stream_but_always_takes_complete()
    {
        using var manager = new MemoryStreamManager(
            new StreamOptions { MemoryLimit = 1024 * 1024, MaxEventBytes = 65_536, Ttl = TimeSpan.FromMinutes(10) }, TestMetrics.Create());
        var chunk = new StreamEvent { Type = EventTypes.Answer, Content = new string('x', 16_000) };
        var stored = 0;
        var key = StreamKey.Create("budget", "m");
        var full = await Assert.ThrowsAsync<StreamException>(async () =>
        {
            while (true)
            {
                await manager.AppendAsync(key, chunk);
                stored++;
            }
        });
        Assert.Equal(StreamErrorCode.StoreFull, full.Code);
        Assert.Contains("STREAM_MEMORY_LIMIT", full.Message, StringComparison.Ordinal);
        Assert.InRange(manager.HeldBytes, 1024 * 1024 - MemoryStreamManager.BytesHeld(16_100), 1024 * 1024);
        Assert.InRange(stored, 20, 40);

        // Another stream is refused too: the budget is the node's; but complete ends the full stream.
        await Assert.ThrowsAsync<StreamException>(() => manager.AppendAsync(StreamKey.Create("budget", "other"), chunk));
        await manager.AppendAsync(key, new StreamEvent { Type = EventTypes.Complete, Done = true });
        Assert.Equal(1, manager.StreamCount);
    }
}
