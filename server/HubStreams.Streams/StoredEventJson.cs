using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace HubStreams.Streams;

/// <summary>
/// The stored form of an event: its JSON without the offset (the offset is the element's position),
/// in the layout of the original design: <c>id</c>, <c>type</c>, <c>content</c>, <c>done</c>,
/// <c>timestamp</c>, <c>data</c>, and, when the server traced its append, <c>traceparent</c>.
/// </summary>
internal static class StoredEventJson
{
    // Relaxed escaping: the stored JSON is never embedded in HTML, and non-ASCII text stays one character,
    // not a six-byte escape, so the size limit means the same for every language.
    private static readonly StoredEventContext Context = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    /// <summary>
    /// Checks an event a producer wants to append, stamps it when it has no timestamp, and returns it
    /// with its stored JSON.
    /// </summary>
    public static (StreamEvent Event, byte[] Json) Prepare(StreamEvent streamEvent, StreamOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(streamEvent);
        if (string.IsNullOrWhiteSpace(streamEvent.Type))
        {
            throw new StreamException(StreamErrorCode.InvalidEvent, "The event has no type: 'type' is required and must not be empty.");
        }

        if (streamEvent.Type.Length > MaxTypeLength || streamEvent.Type.Any(char.IsControl))
        {
            throw new StreamException(StreamErrorCode.InvalidEvent,
                $"The event type must be at most {MaxTypeLength} characters with no control characters.");
        }

        if (streamEvent.Data is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null or JsonValueKind.Undefined) } data)
        {
            throw new StreamException(StreamErrorCode.InvalidEvent,
                $"The event's 'data' must be a JSON object, not {data.ValueKind.ToString().ToLowerInvariant()}.");
        }

        var stamped = streamEvent with
        {
            Offset = 0,
            StreamId = null,
            Timestamp = streamEvent.Timestamp ?? time.GetUtcNow(),
            Data = streamEvent.Data is { ValueKind: JsonValueKind.Object } ? streamEvent.Data : null,
        };
        var json = Serialize(stamped);
        if (json.Length > options.MaxEventBytes)
        {
            throw new StreamException(StreamErrorCode.EventTooLarge,
                $"The event's JSON is {json.Length} bytes; the limit (STREAM_MAX_EVENT_BYTES) is {options.MaxEventBytes}.");
        }

        return (stamped, json);
    }

    private static byte[] Serialize(StreamEvent streamEvent)
    {
        try
        {
            return JsonSerializer.SerializeToUtf8Bytes(ToStored(streamEvent), Context.StoredEvent);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or JsonException)
        {
            // Text that is not valid UTF-16 (a lone surrogate, in a string or a property name) cannot be stored as JSON.
            throw new StreamException(StreamErrorCode.InvalidEvent, "The event holds text that is not valid Unicode (a lone surrogate).", e);
        }
    }

    /// <summary>The longest event type accepted, in characters.</summary>
    public const int MaxTypeLength = 128;

    /// <summary>
    /// The identity of a stream whose first stored element is <paramref name="firstElement"/>: 16 hex digits of its
    /// SHA-256. The Redis store derives its own the same way, with Redis's SHA-1, inside its read script.
    /// </summary>
    public static string Identity(ReadOnlySpan<byte> firstElement) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(firstElement))[..16];

    /// <summary>Reads one stored element, written by HubStreams or by another process in the same layout.</summary>
    public static StreamEvent Decode(ReadOnlySpan<byte> json, long offset, string? streamId = null)
    {
        StoredEvent? stored;
        try
        {
            stored = JsonSerializer.Deserialize(json, Context.StoredEvent);
        }
        catch (JsonException)
        {
            stored = null;
        }

        // An element that is not an event object is surfaced, not dropped, so offsets stay dense.
        stored ??= new StoredEvent { Type = EventTypes.Error, Content = "unreadable stored event" };
        return new StreamEvent
        {
            Offset = offset,
            StreamId = streamId,
            Id = stored.Id,
            Type = stored.Type,
            Content = stored.Content,
            Done = stored.Done,
            Timestamp = stored.Timestamp,
            Data = stored.Data is { ValueKind: JsonValueKind.Object } ? stored.Data : null,
            TraceParent = stored.TraceParent,
        };
    }

    private static StoredEvent ToStored(StreamEvent e) => new()
    {
        Id = e.Id,
        Type = e.Type,
        Content = e.Content,
        Done = e.Done,
        Timestamp = e.Timestamp,
        Data = e.Data,
        TraceParent = e.TraceParent,
    };
}

/// <summary>An event as stored: everything but the offset.</summary>
internal sealed record StoredEvent
{
    public string? Id { get; init; }
    public string? Type { get; init; }
    public string? Content { get; init; }
    public bool Done { get; init; }
    public DateTimeOffset? Timestamp { get; init; }
    public JsonElement? Data { get; init; }

    /// <summary>The append span's context, when the server traced it (see <see cref="HubStreamsTracing"/>).</summary>
    [JsonPropertyName("traceparent")]
    public string? TraceParent { get; init; }
}

[JsonSerializable(typeof(StoredEvent))]
internal sealed partial class StoredEventContext : JsonSerializerContext;
