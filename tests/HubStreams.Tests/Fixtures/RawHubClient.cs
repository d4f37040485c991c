using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace HubStreams.Tests.Fixtures;

/// <summary>
/// A hub client written by hand over a WebSocket with SignalR's JSON protocol, for what a real client library will not
/// send (JSON it cannot produce) or will not do (stop reading while keeping the connection open).
/// </summary>
public sealed class RawHubClient : IAsyncDisposable
{
    private const char RecordSeparator = '\u001e';
    private readonly ClientWebSocket _socket = new();
    private readonly StringBuilder _pending = new();

    private RawHubClient()
    {
    }

    /// <summary>Connects straight to the WebSocket (no negotiation) and completes the JSON protocol handshake.</summary>
    public static async Task<RawHubClient> ConnectAsync(Uri baseAddress, string? accessToken = null)
    {
        var client = new RawHubClient();
        var url = new UriBuilder(baseAddress) { Scheme = "ws", Path = "/hubs/streams", Query = accessToken is null ? "" : $"access_token={accessToken}" }.Uri;
        await client._socket.ConnectAsync(url, CancellationToken.None);
        await client.SendAsync("""{"protocol":"json","version":1}""");
        var handshake = await client.ReceiveAsync();
        if (handshake.TryGetProperty("error", out var error))
        {
            throw new InvalidOperationException($"Handshake refused: {error}");
        }

        return client;
    }

    /// <summary>Sends one message, given as its JSON text.</summary>
    public Task SendAsync(string json) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(json + RecordSeparator), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    /// <summary>Invokes <paramref name="target"/> with arguments given as raw JSON, and returns the completion message.</summary>
    public async Task<JsonElement> InvokeAsync(string target, string argumentsJson)
    {
        var id = Guid.NewGuid().ToString("N");
        await SendAsync($$"""{"type":1,"invocationId":"{{id}}","target":"{{target}}","arguments":{{argumentsJson}}}""");
        while (true)
        {
            var message = await ReceiveAsync().WaitAsync(Eventually.SafetyTimeout);
            if (message.GetProperty("type").GetInt32() == 3 && message.GetProperty("invocationId").GetString() == id)
            {
                return message;
            }
        }
    }

    /// <summary>The next message (pings included), or a failure when the server closes the connection.</summary>
    public async Task<JsonElement> ReceiveAsync()
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var text = _pending.ToString();
            var end = text.IndexOf(RecordSeparator, StringComparison.Ordinal);
            if (end >= 0)
            {
                _pending.Remove(0, end + 1);
                return JsonDocument.Parse(text[..end]).RootElement.Clone();
            }

            var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new WebSocketException("The server closed the connection.");
            }

            _pending.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
        }
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Abort();
        _socket.Dispose();
        await Task.CompletedTask;
    }
}
