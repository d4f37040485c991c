using System.Buffers;
using System.Text.Json;
using HubStreams.Bench.Infrastructure;
using HubStreams.Contracts;
using HubStreams.Protocols.MessagePack;
using HubStreams.Server.Transport;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;

namespace HubStreams.Bench.Scenarios;

/// <summary>
/// SignalR's JSON protocol against its MessagePack protocol, on the same server in the same run: the bytes of one
/// event on the wire (the stream item message SignalR frames, for an answer chunk and for a tool call with data, as
/// the server stored them), and what one delivered event costs the server (CPU and bytes allocated, from its runtime
/// counters) with 1,000 connections on one stream at 50 events/s, measured as the cost scenario measures it.
/// </summary>
internal static class ProtocolScenario
{
    public sealed record Row(string Mode, string Protocol, int AnswerChunkBytes, int ToolCallBytes, long Delivered, double CpuUsPerEvent, double AllocatedBytesPerEvent);

    private const int Connections = 1000;
    private const double Rate = 50;

    public static async Task<List<Row>> RunAsync(BenchRun run)
    {
        var (chunk, toolCall) = await StoredEventsAsync(run);
        var rows = new List<Row>();
        foreach (var messagePack in new[] { false, true })
        {
            var name = messagePack ? "MessagePack" : "JSON";
            run.Report($"protocol: {name}, {Connections:N0} connections on one stream at {Rate} ev/s");
            IHubProtocol protocol = messagePack ? MessagePackProtocol() : JsonProtocol();
            var cost = await CostScenario.MeasureAsync(run, Target.HubStreams, name, Connections, Rate, messagePack);
            rows.Add(new Row(run.Mode.ToString(), name, WireBytes(protocol, chunk), WireBytes(protocol, toolCall), cost.Delivered, cost.CpuUsPerEvent, cost.BytesPerEvent));
        }

        return rows;
    }

    // The protocols as the server sets them up.
    private static JsonHubProtocol JsonProtocol() =>
        new(Options.Create(new JsonHubProtocolOptions { PayloadSerializerOptions = WireJsonContext.HubOptions() }));

    private static MessagePackHubProtocol MessagePackProtocol() =>
        new(Options.Create(new MessagePackHubProtocolOptions { SerializerOptions = HubStreamsMessagePack.SerializerOptions(WireJsonContext.HubOptions()) }));

    private static int WireBytes(IHubProtocol protocol, StreamEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>();
        protocol.WriteMessage(new StreamItemMessage("1", e), buffer);
        return buffer.WrittenCount;
    }

    // An answer chunk and a tool call, appended and read back, so they carry what the server stores (offset, id,
    // timestamp, stream identity).
    private static async Task<(StreamEvent Chunk, StreamEvent ToolCall)> StoredEventsAsync(BenchRun run)
    {
        await using var connection = await run.Server.ConnectAsync(Target.HubStreams);
        var messageId = $"protocol-{Guid.NewGuid():N}";
        await connection.InvokeAsync<long>("AppendEvent", "protocol", messageId, new StreamEvent { Id = "a-17", Type = EventTypes.Answer, Content = "Hello" });
        var data = JsonDocument.Parse("""{"tool":"web_search","arguments":{"query":"resumable streams","limit":5,"fresh":true},"callId":"call_7f3a"}""").RootElement;
        await connection.InvokeAsync<long>("AppendEvent", "protocol", messageId, new StreamEvent { Id = "t-18", Type = EventTypes.ToolCall, Data = data });
        await connection.InvokeAsync<long>("AppendEvent", "protocol", messageId, new StreamEvent { Type = EventTypes.Complete });
        var stored = await connection.StreamAsync<StreamEvent>("StreamEvents", "protocol", messageId, 0L).ToListAsync();
        return (stored[0], stored[1]);
    }
}
