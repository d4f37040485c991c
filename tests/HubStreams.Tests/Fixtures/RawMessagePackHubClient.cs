using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using MessagePack;

namespace HubStreams.Tests.Fixtures;

/// <summary>
/// A hub client written by hand over a WebSocket with SignalR's MessagePack protocol, for arguments no client library
/// would produce: each argument is given as the MessagePack bytes to send.
/// </summary>
public sealed class RawMessagePackHubClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly List<byte> _pending = [];

    private RawMessagePackHubClient()
    {
    }

    /// <summary>What a completion said: its error, or that it had a result.</summary>
    public sealed record Completion(string? Error, bool HasResult);

    /// <summary>Connects straight to the WebSocket and completes the MessagePack protocol's handshake.</summary>
    public static async Task<RawMessagePackHubClient> ConnectAsync(Uri baseAddress)
    {
        var client = new RawMessagePackHubClient();
        var url = new UriBuilder(baseAddress) { Scheme = "ws", Path = "/hubs/streams" }.Uri;
        await client._socket.ConnectAsync(url, CancellationToken.None);
        await client._socket.SendAsync(Encoding.UTF8.GetBytes("""{"protocol":"messagepack","version":1}""" + '\u001e'),
            WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);

        // The handshake's answer is JSON ending with the record separator, even in this protocol.
        while (!client._pending.Contains(0x1e))
        {
            await client.ReceiveMoreAsync();
        }

        var end = client._pending.IndexOf(0x1e);
        var handshake = Encoding.UTF8.GetString([.. client._pending.Take(end)]);
        client._pending.RemoveRange(0, end + 1);
        if (handshake.Contains("\"error\"", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Handshake refused: {handshake}");
        }

        return client;
    }

    /// <summary>Invokes <paramref name="target"/> with arguments given as raw MessagePack values, and returns the completion.</summary>
    public async Task<Completion> InvokeAsync(string target, params byte[][] arguments)
    {
        var id = Guid.NewGuid().ToString("N");
        var body = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(body);
        writer.WriteArrayHeader(6);
        writer.Write(1);
        writer.WriteMapHeader(0);
        writer.Write(id);
        writer.Write(target);
        writer.WriteArrayHeader(arguments.Length);
        foreach (var argument in arguments)
        {
            writer.WriteRaw(argument);
        }

        writer.WriteArrayHeader(0);
        writer.Flush();

        var frame = new List<byte>();
        for (var length = (uint)body.WrittenCount; ; length >>= 7)
        {
            frame.Add((byte)(length < 0x80 ? length : (length & 0x7f) | 0x80));
            if (length < 0x80)
            {
                break;
            }
        }

        frame.AddRange(body.WrittenSpan.ToArray());
        await _socket.SendAsync(frame.ToArray(), WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
        while (true)
        {
            var message = await ReceiveAsync().WaitAsync(Eventually.SafetyTimeout);
            var reader = new MessagePackReader(message);
            var count = reader.ReadArrayHeader();
            if (reader.ReadInt32() != 3)
            {
                continue;
            }

            reader.Skip();
            if (reader.ReadString() != id)
            {
                continue;
            }

            var kind = count > 3 ? reader.ReadInt32() : 2;
            return kind == 1 ? new Completion(reader.ReadString(), HasResult: false) : new Completion(null, HasResult: kind == 3);
        }
    }

    /// <summary>Writes one MessagePack value.</summary>
    public delegate void ValueWriter(ref MessagePackWriter writer);

    /// <summary>One MessagePack value, written by <paramref name="write"/>, as the bytes an argument is sent as.</summary>
    public static byte[] Value(ValueWriter write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private async Task<byte[]> ReceiveAsync()
    {
        while (true)
        {
            if (TryTakeFrame(out var frame))
            {
                return frame;
            }

            await ReceiveMoreAsync();
        }
    }

    // A frame: its length as a variable-length integer, then its bytes.
    private bool TryTakeFrame(out byte[] frame)
    {
        frame = [];
        var length = 0;
        var shift = 0;
        var header = 0;
        while (true)
        {
            if (header >= _pending.Count)
            {
                return false;
            }

            var b = _pending[header++];
            length |= (b & 0x7f) << shift;
            shift += 7;
            if ((b & 0x80) == 0)
            {
                break;
            }
        }

        if (_pending.Count < header + length)
        {
            return false;
        }

        frame = [.. _pending.Skip(header).Take(length)];
        _pending.RemoveRange(0, header + length);
        return true;
    }

    private async Task ReceiveMoreAsync()
    {
        var buffer = new byte[64 * 1024];
        var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
        if (result.MessageType == WebSocketMessageType.Close)
        {
            throw new WebSocketException("The server closed the connection.");
        }

        _pending.AddRange(buffer.Take(result.Count));
    }

    public ValueTask DisposeAsync()
    {
        _socket.Abort();
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
