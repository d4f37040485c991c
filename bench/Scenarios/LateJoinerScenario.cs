using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using HubStreams.Bench.Infrastructure;
using HubStreams.Contracts;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Bench.Scenarios;

/// <summary>
/// A reader that joins late: a finished answer of 5,000 text chunks of 3 to 8 characters (and its <c>complete</c>) is
/// read from offset 0, as a full replay and compacted, over the hub (a WebSocket speaking SignalR's JSON protocol, as a
/// browser does) and over SSE. Measured: the bytes the reader receives (SignalR frames, or the SSE body) and the time from
/// asking to the end of the stream, which is when it has caught up. The first read of each kind is shown apart: it is the
/// one no node has served before (a compacted catch-up of a completed answer on a Redis node is kept for the next reader,
/// see <c>CompactedStreamCache</c>), the median is of the reads after it.
/// </summary>
internal static class LateJoinerScenario
{
    public sealed record Row(string Mode, string Transport, string Read, int Chunks, int TextChars, int EventsReceived, long Bytes,
        double FirstMs, double MedianMs, double MaxMs);

    public const int Chunks = 5000;

    public static async Task<List<Row>> RunAsync(BenchRun run)
    {
        const string message = "answer";
        var rows = new List<Row>();
        var samples = run.Quick ? 5 : 20;
        foreach (var transport in new[] { "hub", "SSE" })
        {
            // An answer of its own for each transport, so that each one's first compacted read is one no reader made before.
            var session = $"bench-late-{Guid.NewGuid():N}";
            run.Report($"late joiner: writing an answer of {Chunks:N0} chunks");
            var text = await WriteAnswerAsync(run, session, message);
            foreach (var compact in new[] { false, true })
            {
                run.Report($"late joiner: {transport}, {(compact ? "compacted" : "full replay")}");
                var times = new List<double>();
                var first = 0.0;
                Read last = default;
                for (var i = 0; i < samples + 1; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    last = transport == "hub"
                        ? await ReadOverHubAsync(run.Server.BaseAddress, session, message, compact)
                        : await ReadOverSseAsync(run.Server.BaseAddress, session, message, compact);
                    var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                    if (last.Text != text)
                    {
                        throw new InvalidOperationException($"The {transport} reader ({(compact ? "compacted" : "full")}) received {last.Text.Length} characters, not the {text.Length} stored.");
                    }

                    if (i == 0)
                    {
                        first = elapsed;
                    }
                    else
                    {
                        times.Add(elapsed);
                    }
                }

                times.Sort();
                rows.Add(new Row(run.Mode.ToString(), transport, compact ? "compacted" : "full", Chunks, text.Length, last.Events, last.Bytes,
                    first, times[times.Count / 2], times[^1]));
            }
        }

        return rows;
    }

    private readonly record struct Read(int Events, long Bytes, string Text);

    private static async Task<string> WriteAnswerAsync(BenchRun run, string session, string message)
    {
        var random = new Random(7);
        const string letters = "abcdefghijklmnopqrstuvwxyz ,.";
        var chunks = Enumerable.Range(0, Chunks)
            .Select(_ => new string(Enumerable.Range(0, random.Next(3, 9)).Select(_ => letters[random.Next(letters.Length)]).ToArray()))
            .ToList();
        await using var producer = await run.Server.ConnectAsync(Target.HubStreams);
        foreach (var chunk in chunks)
        {
            await producer.InvokeAsync<long>("AppendEvent", session, message, new StreamEvent { Type = EventTypes.Answer, Content = chunk });
        }

        await producer.InvokeAsync<long>("AppendEvent", session, message, new StreamEvent { Type = EventTypes.Complete, Done = true });
        return string.Concat(chunks);
    }

    private const char RecordSeparator = '\u001e';

    // SignalR's JSON hub protocol over a WebSocket: the handshake, one StreamInvocation of FollowStream, then stream
    // items (type 2) until the completion (type 3). Every byte received after the handshake is counted.
    private static async Task<Read> ReadOverHubAsync(Uri server, string session, string message, bool compact)
    {
        using var socket = new ClientWebSocket();
        var address = new UriBuilder(server) { Scheme = server.Scheme == "https" ? "wss" : "ws", Path = "/hubs/streams" }.Uri;
        await socket.ConnectAsync(address, CancellationToken.None);
        await SendAsync(socket, """{"protocol":"json","version":1}""");
        var frames = new FrameReader(socket);
        var handshake = await frames.NextAsync();
        if (handshake.Contains("error", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The hub refused the handshake: {handshake}");
        }

        frames.Bytes = 0;
        var request = JsonSerializer.Serialize(new
        {
            type = 4,
            invocationId = "1",
            target = "FollowStream",
            arguments = new object[] { new { sessionId = session, messageId = message, fromOffset = 0, compact } },
        });
        await SendAsync(socket, request);
        var text = new StringBuilder();
        var events = 0;
        while (true)
        {
            using var frame = JsonDocument.Parse(await frames.NextAsync());
            var type = frame.RootElement.GetProperty("type").GetInt32();
            if (type == 2)
            {
                events++;
                Collect(frame.RootElement.GetProperty("item"), text);
            }
            else if (type == 3)
            {
                if (frame.RootElement.TryGetProperty("error", out var error))
                {
                    throw new InvalidOperationException($"FollowStream failed: {error.GetString()}");
                }

                break;
            }
        }

        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        return new Read(events, frames.Bytes, text.ToString());
    }

    private static Task SendAsync(ClientWebSocket socket, string message) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(message + RecordSeparator), WebSocketMessageType.Text, true, CancellationToken.None);

    /// <summary>The protocol's messages, each ended by a record separator, however the WebSocket frames split them.</summary>
    private sealed class FrameReader(ClientWebSocket socket)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private readonly StringBuilder _pending = new();
        private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
        private readonly char[] _chars = new char[64 * 1024];

        public long Bytes { get; set; }

        public async Task<string> NextAsync()
        {
            while (true)
            {
                var pending = _pending.ToString();
                var end = pending.IndexOf(RecordSeparator, StringComparison.Ordinal);
                if (end >= 0)
                {
                    _pending.Remove(0, end + 1);
                    return pending[..end];
                }

                var received = await socket.ReceiveAsync(_buffer, CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    throw new InvalidOperationException("The hub closed the connection before the stream ended.");
                }

                Bytes += received.Count;
                var count = _decoder.GetChars(_buffer, 0, received.Count, _chars, 0);
                _pending.Append(_chars, 0, count);
            }
        }
    }

    private static async Task<Read> ReadOverSseAsync(Uri server, string session, string message, bool compact)
    {
        using var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromMinutes(2) };
        using var response = await http.GetAsync(
            $"/api/sessions/{session}/messages/{message}/stream?fromOffset=0{(compact ? "&compact=true" : "")}", HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync();
        var counting = new MemoryStream();
        await body.CopyToAsync(counting); // The server ends the response after complete.
        var text = new StringBuilder();
        var events = 0;
        foreach (var line in Encoding.UTF8.GetString(counting.GetBuffer(), 0, (int)counting.Length).Split('\n'))
        {
            if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                events++;
                using var data = JsonDocument.Parse(line[5..]);
                Collect(data.RootElement, text);
            }
        }

        return new Read(events, counting.Length, text.ToString());
    }

    private static void Collect(JsonElement streamEvent, StringBuilder text)
    {
        if (streamEvent.GetProperty("type").GetString() == EventTypes.Answer && streamEvent.TryGetProperty("content", out var content))
        {
            text.Append(content.GetString());
        }
    }
}
