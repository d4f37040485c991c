using System.Text.Json;
using System.Text.Json.Serialization;

namespace HubStreams.Contracts;

/// <summary>
/// One event of a stream, as clients see it on the wire (JSON, camelCase).
/// </summary>
/// <remarks>
/// <see cref="Offset"/> is assigned by the store: it is the event's 0-based position in its stream and is
/// not stored inside the element. Every other property is the producer's, except <see cref="Timestamp"/>,
/// which the server sets when the producer leaves it out.
/// </remarks>
public sealed record StreamEvent
{
    /// <summary>
    /// The 0-based position of the event in its stream, as the server says it: servers always send it. To store an
    /// event exactly at an offset, once, name the offset apart from the event (<c>AppendEventAt</c> on the hub,
    /// <c>?atOffset=</c> over HTTP). An <c>offset</c> inside an appended event does the same in the deprecated form; an
    /// event with the default 0 sends no <c>offset</c>, so that appending it stays plain.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long Offset { get; init; }

    /// <summary>
    /// Set only on an event that merges a run of text chunks in a compacted catch-up: the offset of the first chunk it
    /// covers (<see cref="Offset"/> is the last). Its <see cref="Content"/> is theirs joined. Never stored.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? FirstOffset { get; init; }

    /// <summary>The producer's own id for the event, if any.</summary>
    public string? Id { get; init; }

    /// <summary>The event type, required and non-empty; see <see cref="EventTypes"/> for the known ones.</summary>
    public string? Type { get; init; }

    /// <summary>Text carried by the event (an answer chunk, a thought), if any.</summary>
    public string? Content { get; init; }

    /// <summary>The producer's flag that this part of the answer is finished.</summary>
    public bool Done { get; init; }

    /// <summary>When the event was produced; set by the server on append when absent.</summary>
    public DateTimeOffset? Timestamp { get; init; }

    /// <summary>Any JSON object the producer attaches; must be an object when present.</summary>
    public JsonElement? Data { get; init; }

    /// <summary>
    /// The identity of the stream the event belongs to, set by the server: it is derived from the stream's first stored
    /// event, so it changes when a stream is lost and created again under the same ids. A reader that resumes presents
    /// it, and is refused with <see cref="StreamErrorCode.StreamReset"/> rather than served another stream's events.
    /// Ignored on append.
    /// </summary>
    public string? StreamId { get; init; }

    /// <summary>
    /// The W3C <c>traceparent</c> of the span that stored the event, when the server traces: kept with the stored event
    /// so that its delivery on any node belongs to the same trace. The server's own; never sent to readers, and ignored
    /// on append.
    /// </summary>
    [JsonIgnore]
    public string? TraceParent { get; init; }

    /// <summary>Whether this is the <c>complete</c> event, the durable end marker of a stream.</summary>
    [JsonIgnore]
    public bool IsComplete => Type == EventTypes.Complete;
}

/// <summary>The event types of the original agent pipeline. Any other non-empty type is accepted too.</summary>
public static class EventTypes
{
    /// <summary>The user's query as the agent received it.</summary>
    public const string AgentQuery = "agent_query";
    /// <summary>A chunk of the agent's reasoning.</summary>
    public const string Thinking = "thinking";
    /// <summary>The agent calls a tool.</summary>
    public const string ToolCall = "tool_call";
    /// <summary>A tool's answer.</summary>
    public const string ToolResult = "tool_result";
    /// <summary>Sources the answer draws on.</summary>
    public const string References = "references";
    /// <summary>A chunk of the answer text.</summary>
    public const string Answer = "answer";
    /// <summary>The agent's reflection on its answer.</summary>
    public const string Reflection = "reflection";
    /// <summary>The producer reports a failure.</summary>
    public const string Error = "error";
    /// <summary>A title for the chat session.</summary>
    public const string SessionTitle = "session_title";
    /// <summary>The durable end marker: nothing can be appended after it, and readers stop after it.</summary>
    public const string Complete = "complete";
    /// <summary>A reader asks the producer to stop; the producer answers with its last events and <c>complete</c>.</summary>
    public const string Stop = "stop";
}
