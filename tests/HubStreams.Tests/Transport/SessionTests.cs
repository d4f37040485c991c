using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HubStreams.Client;
using HubStreams.Contracts;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Transport;

/// <summary>A session's listing, watch and deletion on one node in memory mode, and who may do which in jwt mode.</summary>
public sealed class SessionTests() : SessionContract(HubProtocol.Json);

/// <summary>The same over SignalR's MessagePack protocol.</summary>
public sealed class MessagePackSessionTests() : SessionContract(HubProtocol.MessagePack);

/// <summary>The tests of <see cref="SessionTests"/>, with the hub in <paramref name="protocol"/>.</summary>
public abstract class SessionContract(HubProtocol protocol)
{
    private static Uri Api(string path) => new(path, UriKind.Relative);

    [Fact]
    public async Task A_memory_node_lists_and_watches_a_session_and_its_hub_and_http_listings_agree()
    {
        await using var server = await HubStreamsServer.StartAsync();
        server.Protocol = protocol;
        using var http = server.CreateHttpClient();
        await using var hub = await server.ConnectAsync();
        using var cancel = new CancellationTokenSource();
        await using var updates = hub.StreamAsync<SessionUpdate>("WatchSession", "mem-chat", cancel.Token).GetAsyncEnumerator();
        Assert.True(await updates.MoveNextAsync().AsTask().WaitAsync(Eventually.SafetyTimeout));
        Assert.Empty(updates.Current.Messages);

        (await http.PostAsJsonAsync(Api("/api/sessions/mem-chat/messages/m1/events"), new { type = "answer", content = "hi" })).Dispose();
        Assert.True(await updates.MoveNextAsync().AsTask().WaitAsync(Eventually.SafetyTimeout));
        Assert.Equal((SessionUpdateKinds.Started, "m1"), (updates.Current.Kind, updates.Current.Message!.MessageId));

        var viaHub = await hub.InvokeAsync<SessionPage>("GetSession", "mem-chat", null);
        var viaHttp = await http.GetFromJsonAsync<SessionPage>(Api("/api/sessions/mem-chat/messages"));
        Assert.Equal(viaHub.Messages, viaHttp!.Messages);
        Assert.Equal(("m1", MessageStates.Streaming, 1L), (viaHub.Messages[0].MessageId, viaHub.Messages[0].State, viaHub.Messages[0].NextOffset));

        Assert.True(await hub.InvokeAsync<bool>("DeleteMessage", "mem-chat", "m1"));
        Assert.True(await updates.MoveNextAsync().AsTask().WaitAsync(Eventually.SafetyTimeout));
        Assert.Equal((SessionUpdateKinds.Deleted, MessageStates.Deleted), (updates.Current.Kind, updates.Current.Message!.State));
        Assert.Empty((await http.GetFromJsonAsync<SessionPage>(Api("/api/sessions/mem-chat/messages")))!.Messages);
        await cancel.CancelAsync();
    }

    [Fact]
    public async Task In_jwt_mode_listing_and_watching_need_the_session_and_deleting_needs_the_producer_role()
    {
        await using var server = await HubStreamsServer.StartAsync(Tokens.Settings);
        server.Protocol = protocol;
        using var reader = server.CreateHttpClient(Tokens.Mint("reader", ["granted"]));
        using var producer = server.CreateHttpClient(Tokens.Mint("writer", ["granted"], producer: true));
        (await producer.PostAsJsonAsync(Api("/api/sessions/granted/messages/m1/events"), new { type = "answer", content = "hi" })).Dispose();

        Assert.Single((await reader.GetFromJsonAsync<SessionPage>(Api("/api/sessions/granted/messages")))!.Messages);
        using var other = await reader.GetAsync(Api("/api/sessions/other/messages"));
        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        using var otherStream = await reader.GetAsync(Api("/api/sessions/other/stream"));
        Assert.Equal(HttpStatusCode.Forbidden, otherStream.StatusCode);

        foreach (var path in new[] { "/api/sessions/granted/messages/m1", "/api/sessions/granted" })
        {
            using var refused = await reader.DeleteAsync(Api(path));
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Equal("AccessDenied", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        }

        await using var readerHub = await server.ConnectAsync(Tokens.Mint("reader", ["granted"]));
        var hubRefusal = await Assert.ThrowsAsync<HubException>(() => readerHub.InvokeAsync<int>("DeleteSession", "granted"));
        Assert.Equal(StreamErrorCode.AccessDenied, StreamErrors.FromMessage(hubRefusal.Message));

        using var deleted = await producer.DeleteAsync(Api("/api/sessions/granted"));
        Assert.Equal(1, (await deleted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("deletedMessages").GetInt32());
        Assert.Empty((await reader.GetFromJsonAsync<SessionPage>(Api("/api/sessions/granted/messages")))!.Messages);
    }
}
