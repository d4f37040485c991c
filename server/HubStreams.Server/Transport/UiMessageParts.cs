using System.Buffers;
using System.Text;
using System.Text.Json;
using HubStreams.Streams;

namespace HubStreams.Server.Transport;

/// <summary>
/// Turns one message's stream into the parts of the AI SDK's UI message stream (its <c>v1</c> format), as Server-Sent
/// Events: <c>start</c> with the message's id, then for each event the parts it stands for, and <c>finish</c> and
/// <c>[DONE]</c> after <c>complete</c>.
/// <list type="bullet">
/// <item><c>answer</c> becomes text and <c>thinking</c> reasoning: a run of them is one part (<c>…-start</c>, a
/// <c>…-delta</c> per event, <c>…-end</c> when another event comes or the chunk is <c>done</c>), named by the run's
/// first offset.</item>
/// <item><c>tool_call</c> becomes <c>tool-input-available</c> and <c>tool_result</c> <c>tool-output-available</c>, by
/// <c>data.callId</c>; a result whose call the stream never held is a <c>data-tool_result</c> part instead, since the
/// SDK refuses output for a call it does not know.</item>
/// <item><c>error</c> becomes <c>error</c> with its content as the text, and <c>complete</c> <c>finish</c>, with the
/// model's finish reason when the producer gave one.</item>
/// <item>Every other type becomes a <c>data-{type}</c> part whose <c>id</c> is the event's offset and whose
/// <c>data</c> is the event as the other transports send it.</item>
/// </list>
/// One instance follows one stream, in order.
/// </summary>
internal sealed class UiMessageParts(string messageId)
{
    /// <summary>The header that tells the AI SDK which stream format the body is in.</summary>
    public const string FormatHeader = "x-vercel-ai-ui-message-stream";

    /// <summary>The format this writes.</summary>
    public const string FormatVersion = "v1";

    /// <summary>What ends the body after <c>finish</c>, as the SDK's own responses end.</summary>
    public const string Done = "data: [DONE]\n\n";

    private readonly ArrayBufferWriter<byte> _buffer = new();
    private readonly HashSet<string> _toolCalls = new(StringComparer.Ordinal);
    private readonly StringBuilder _text = new();
    private string? _openPart;
    private string? _openKind;

    /// <summary>The first part: the message starts, under its HubStreams id, which the SDK gives the message it builds.</summary>
    public string Start() => Write(writer =>
    {
        writer.WriteString("type", "start");
        writer.WriteString("messageId", messageId);
    });

    /// <summary>The parts <paramref name="streamEvent"/> stands for, as Server-Sent Events (none, one, or several).</summary>
    public string Add(StreamEvent streamEvent)
    {
        ArgumentNullException.ThrowIfNull(streamEvent);
        _text.Clear();
        switch (streamEvent.Type)
        {
            case EventTypes.Answer:
                AddText("text", streamEvent);
                break;
            case EventTypes.Thinking:
                AddText("reasoning", streamEvent);
                break;
            case EventTypes.ToolCall:
                CloseOpenPart();
                AddToolCall(streamEvent);
                break;
            case EventTypes.ToolResult when CallId(streamEvent) is { } callId && _toolCalls.Contains(callId):
                CloseOpenPart();
                Append(Write(writer =>
                {
                    writer.WriteString("type", "tool-output-available");
                    writer.WriteString("toolCallId", callId);
                    writer.WritePropertyName("output");
                    WriteToolOutput(writer, streamEvent);
                }));
                break;
            case EventTypes.Error:
                CloseOpenPart();
                Append(Write(writer =>
                {
                    writer.WriteString("type", "error");
                    writer.WriteString("errorText", streamEvent.Content ?? Reason(streamEvent) ?? "The producer reported an error.");
                }));
                break;
            case EventTypes.Complete:
                CloseOpenPart();
                Append(Write(writer =>
                {
                    writer.WriteString("type", "finish");
                    if (FinishReason(streamEvent) is { } reason)
                    {
                        writer.WriteString("finishReason", reason);
                    }
                }));
                Append(Done);
                break;
            default:
                CloseOpenPart();
                Append(Write(writer =>
                {
                    writer.WriteString("type", $"data-{streamEvent.Type}");
                    writer.WriteString("id", streamEvent.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    writer.WritePropertyName("data");
                    JsonSerializer.Serialize(writer, streamEvent, WireJsonContext.OutgoingOptions.GetTypeInfo(typeof(StreamEvent)));
                }));
                break;
        }

        return _text.ToString();
    }

    /// <summary>
    /// The part for a stream that ended before <c>complete</c> (deleted, lost, a node stopping): an <c>error</c> whose
    /// text starts with the code, as the hub's errors do.
    /// </summary>
    public string End(StreamException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        _text.Clear();
        CloseOpenPart();
        Append(Write(writer =>
        {
            writer.WriteString("type", "error");
            writer.WriteString("errorText", $"{error.Code}: {error.Message}");
        }));
        return _text.ToString();
    }

    private void AddText(string kind, StreamEvent streamEvent)
    {
        if (_openKind != kind)
        {
            CloseOpenPart();
            _openKind = kind;
            _openPart = $"{kind}-{(streamEvent.FirstOffset ?? streamEvent.Offset).ToString(System.Globalization.CultureInfo.InvariantCulture)}";
            Append(Write(writer =>
            {
                writer.WriteString("type", $"{kind}-start");
                writer.WriteString("id", _openPart);
            }));
        }

        if (!string.IsNullOrEmpty(streamEvent.Content))
        {
            Append(Write(writer =>
            {
                writer.WriteString("type", $"{kind}-delta");
                writer.WriteString("id", _openPart);
                writer.WriteString("delta", streamEvent.Content);
            }));
        }

        if (streamEvent.Done)
        {
            CloseOpenPart();
        }
    }

    private void AddToolCall(StreamEvent streamEvent)
    {
        var callId = CallId(streamEvent) ?? $"call-{streamEvent.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        _toolCalls.Add(callId);
        Append(Write(writer =>
        {
            writer.WriteString("type", "tool-input-available");
            writer.WriteString("toolCallId", callId);
            writer.WriteString("toolName", DataString(streamEvent, "name") ?? streamEvent.Content ?? "tool");
            writer.WritePropertyName("input");
            if (streamEvent.Data is { } data && data.TryGetProperty("arguments", out var arguments))
            {
                arguments.WriteTo(writer);
            }
            else
            {
                writer.WriteStartObject();
                writer.WriteEndObject();
            }
        }));
    }

    private static void WriteToolOutput(Utf8JsonWriter writer, StreamEvent streamEvent)
    {
        if (streamEvent.Data is { } data && data.TryGetProperty("result", out var result))
        {
            result.WriteTo(writer);
        }
        else if (streamEvent.Content is { } content)
        {
            writer.WriteStringValue(content);
        }
        else
        {
            writer.WriteNullValue();
        }
    }

    private void CloseOpenPart()
    {
        if (_openPart is null)
        {
            return;
        }

        var (kind, id) = (_openKind, _openPart);
        _openPart = null;
        _openKind = null;
        Append(Write(writer =>
        {
            writer.WriteString("type", $"{kind}-end");
            writer.WriteString("id", id);
        }));
    }

    // The SDK's finish reasons, from the model's (Microsoft.Extensions.AI names them with underscores), else from why
    // the producer completed.
    private static string? FinishReason(StreamEvent complete) => DataString(complete, "finishReason") switch
    {
        "stop" => "stop",
        "length" => "length",
        "tool_calls" => "tool-calls",
        "content_filter" => "content-filter",
        { } => "other",
        null => Reason(complete) switch
        {
            "finished" => "stop",
            "error" or ProducerLeases.LostReason => "error",
            null => null,
            _ => "other",
        },
    };

    private static string? Reason(StreamEvent streamEvent) => DataString(streamEvent, "reason");

    private static string? CallId(StreamEvent streamEvent) => DataString(streamEvent, "callId");

    private static string? DataString(StreamEvent streamEvent, string name) =>
        streamEvent.Data is { ValueKind: JsonValueKind.Object } data && data.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private void Append(string text) => _text.Append(text);

    private string Write(Action<Utf8JsonWriter> body)
    {
        _buffer.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(_buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return $"data: {Encoding.UTF8.GetString(_buffer.WrittenSpan)}\n\n";
    }
}
