using System.Text.Json;
using HubStreams.Streams;

namespace HubStreams.Server.Transport;

/// <summary>An event as a client sends it, over HTTP or the hub: parsed strictly, refused with <see cref="StreamErrorCode.InvalidEvent"/>.</summary>
internal static class IncomingEvent
{
    /// <summary>Reads the event in an HTTP request body.</summary>
    /// <exception cref="StreamException">The body is not an event object.</exception>
    public static async Task<StreamEvent> ReadAsync(Stream body, CancellationToken cancellationToken)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync(body, WireJsonContext.Incoming.StreamEvent, cancellationToken) ?? throw NotAnObject();
        }
        catch (JsonException e)
        {
            throw Invalid(e);
        }
    }

    /// <summary>Reads the event a hub client passed as an argument.</summary>
    /// <exception cref="StreamException">The argument is not an event object.</exception>
    public static StreamEvent Parse(JsonElement argument)
    {
        if (argument.ValueKind != JsonValueKind.Object)
        {
            throw NotAnObject();
        }

        try
        {
            return argument.Deserialize(WireJsonContext.Incoming.StreamEvent) ?? throw NotAnObject();
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

    private static StreamException NotAnObject() => new(StreamErrorCode.InvalidEvent, "The event must be a JSON object.");

    private static StreamException Invalid(JsonException e) => new(StreamErrorCode.InvalidEvent, $"The body is not a valid event: {e.Message}", e);
}
