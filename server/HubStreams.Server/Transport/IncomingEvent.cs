using System.Text.Json;
using System.Text.Json.Serialization;
using HubStreams.Protocols.MessagePack;
using HubStreams.Streams;

namespace HubStreams.Server.Transport;

/// <summary>
/// An event as a client sends it, over HTTP or the hub: parsed strictly (refused with
/// <see cref="StreamErrorCode.InvalidEvent"/>), with the offset it must land at when it names one (a conditional append).
/// </summary>
/// <param name="Event">The event.</param>
/// <param name="Offset">
/// The offset the event must land at, or null: then it goes at the end. Given apart from the event
/// (<see cref="At"/>), or, in the deprecated form, as the event's own <c>offset</c>.
/// </param>
internal sealed record IncomingEvent(StreamEvent Event, long? Offset)
{
    /// <summary>Reads the event in an HTTP request body.</summary>
    /// <exception cref="StreamException">The body is not an event object.</exception>
    public static async Task<IncomingEvent> ReadAsync(Stream body, CancellationToken cancellationToken)
    {
        JsonElement element;
        try
        {
            element = await JsonSerializer.DeserializeAsync(body, IncomingEventContext.Strict.JsonElement, cancellationToken);
        }
        catch (JsonException e)
        {
            throw Invalid(e);
        }

        return Parse(element);
    }

    /// <summary>Reads the event a hub client passed as an argument, or a body read as JSON.</summary>
    /// <exception cref="StreamException">The argument is not an event object.</exception>
    public static IncomingEvent Parse(JsonElement argument)
    {
        if (HubStreamsMessagePack.IsRefused(argument, out var reason))
        {
            throw new StreamException(StreamErrorCode.InvalidEvent, $"The event cannot be read: {reason}.");
        }

        if (argument.ValueKind != JsonValueKind.Object)
        {
            throw NotAnObject();
        }

        try
        {
            var sent = argument.Deserialize(IncomingEventContext.Strict.EventAsSent) ?? throw NotAnObject();
            return new IncomingEvent(sent.ToStreamEvent(), sent.Offset);
        }
        catch (JsonException e)
        {
            throw Invalid(e);
        }
        catch (InvalidOperationException e)
        {
            // Text that is not valid UTF-16, met while reading a string.
            throw Invalid(new JsonException(e.Message, e));
        }
    }

    /// <summary>
    /// The same event, to be stored exactly at <paramref name="offset"/> (<c>AppendEventAt</c>, <c>?atOffset=</c>).
    /// </summary>
    /// <exception cref="StreamException">
    /// <see cref="StreamErrorCode.InvalidEvent"/> when the event names another <c>offset</c> of its own (the deprecated
    /// form), which would leave the intent unclear. (A negative offset is the store's to refuse.)
    /// </exception>
    public IncomingEvent At(long offset)
    {
        if (Offset is { } named && named != offset)
        {
            throw new StreamException(StreamErrorCode.InvalidEvent,
                $"The event names offset {named} but is to be stored at offset {offset}: leave the event's offset out.");
        }

        return this with { Offset = offset };
    }

    private static StreamException NotAnObject() => new(StreamErrorCode.InvalidEvent, "The event must be a JSON object.");

    private static StreamException Invalid(JsonException e) => new(StreamErrorCode.InvalidEvent, $"The body is not a valid event: {e.Message}", e);
}

/// <summary>
/// An event as a client writes it: the fields of <see cref="StreamEvent"/>, with the offset nullable, so that an event
/// that names an offset (the deprecated conditional form) is told apart from one that leaves it out.
/// </summary>
internal sealed record EventAsSent
{
    public long? Offset { get; init; }
    public string? Id { get; init; }
    public string? Type { get; init; }
    public string? Content { get; init; }
    public bool Done { get; init; }
    public DateTimeOffset? Timestamp { get; init; }
    public JsonElement? Data { get; init; }
    public string? StreamId { get; init; }

    /// <summary>The event itself; where it is to be stored is the caller's to say (<see cref="IncomingEvent.Offset"/>).</summary>
    public StreamEvent ToStreamEvent() => new()
    {
        Id = Id,
        Type = Type,
        Content = Content,
        Done = Done,
        Timestamp = Timestamp,
        Data = Data,
        StreamId = StreamId,
    };
}

/// <summary>
/// JSON for events that arrive from clients: property names matched without regard to case, and a duplicate property
/// refused rather than silently won by the last one (<c>{"type":"answer","type":"complete"}</c> must not store a
/// <c>complete</c>).
/// </summary>
[JsonSerializable(typeof(EventAsSent))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class IncomingEventContext : JsonSerializerContext
{
    public static IncomingEventContext Strict { get; } = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        AllowDuplicateProperties = false,
    });
}
