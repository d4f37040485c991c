using System.Text.Json;
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
            element = await JsonSerializer.DeserializeAsync(body, WireJsonContext.Incoming.JsonElement, cancellationToken);
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
        if (argument.ValueKind != JsonValueKind.Object)
        {
            throw NotAnObject();
        }

        try
        {
            var streamEvent = argument.Deserialize(WireJsonContext.Incoming.StreamEvent) ?? throw NotAnObject();
            return new IncomingEvent(streamEvent, NamesOffset(argument) ? streamEvent.Offset : null);
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

    // Property names are matched as the event's are: without regard to case.
    private static bool NamesOffset(JsonElement element) =>
        element.EnumerateObject().Any(property => property.NameEquals("offset") || property.Name.Equals("offset", StringComparison.OrdinalIgnoreCase));

    private static StreamException NotAnObject() => new(StreamErrorCode.InvalidEvent, "The event must be a JSON object.");

    private static StreamException Invalid(JsonException e) => new(StreamErrorCode.InvalidEvent, $"The body is not a valid event: {e.Message}", e);
}
