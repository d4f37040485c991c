using System.Text.Json;

namespace HubStreams.Streams;

/// <summary>
/// The rules of a producer's lease, the same in every store. A stream a HubStreams producer writes has a deadline: every
/// append but <c>complete</c>, and every heartbeat, sets it to now + <see cref="StreamOptions.ProducerTimeout"/>. When it
/// passes with no <c>complete</c>, the store ends the stream for good with <see cref="LostEvents"/>, once, whichever node
/// notices. A stream with no lease (written by another service into the same layout) is never ended this way.
/// </summary>
public static class ProducerLeases
{
    /// <summary>The <c>data.reason</c> of the events that end a stream whose producer was lost.</summary>
    public const string LostReason = "producer_lost";

    private static readonly JsonElement LostData = JsonDocument.Parse($$"""{"reason":"{{LostReason}}"}""").RootElement.Clone();

    /// <summary>
    /// The events that end a stream whose producer was lost: an <c>error</c> saying so, then <c>complete</c>, both with
    /// <c>data.reason: "producer_lost"</c>. A full stream (room for <c>complete</c> only) gets the <c>complete</c>.
    /// </summary>
    public static IReadOnlyList<StreamEvent> LostEvents(TimeSpan timeout, DateTimeOffset now) =>
    [
        new()
        {
            Type = EventTypes.Error,
            Content = $"The producer stopped without completing the message: nothing was appended and no heartbeat came for {timeout} (STREAM_PRODUCER_TIMEOUT).",
            Timestamp = now,
            Data = LostData,
        },
        new() { Type = EventTypes.Complete, Timestamp = now, Data = LostData },
    ];

    /// <summary>Whether <paramref name="last"/>, a stream's last event, is the <c>complete</c> that ended it for a lost producer.</summary>
    public static bool EndsLost(StreamEvent last) =>
        last.IsComplete && last.Data is { ValueKind: JsonValueKind.Object } data
        && data.TryGetProperty("reason", out var reason) && reason.ValueKind == JsonValueKind.String && reason.ValueEquals(LostReason);
}
