using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using HubStreams.Protocols.MessagePack;
using HubStreams.Streams;

namespace HubStreams.Server.Transport;

/// <summary>The body of <c>GET …/events</c>, the original design's <c>GetEvents</c>.</summary>
/// <param name="Events">The events from the requested offset.</param>
/// <param name="NextOffset">Where to read next.</param>
/// <param name="Completed">
/// Whether nothing follows <paramref name="NextOffset"/>: the stream is completed and this page holds its last event. A
/// completed stream's page cut short by the page caps says <c>false</c>: read on from <paramref name="NextOffset"/>.
/// </param>
/// <param name="StreamId">The stream's identity: pass it back as <c>streamId</c> to read on only from this same stream.</param>
public sealed record EventsPage(IReadOnlyList<StreamEvent> Events, long NextOffset, bool Completed, string? StreamId);

/// <summary>
/// What the hub's <c>FollowStream</c> takes: which stream, from where, and how. A field left out takes its default, so
/// that the request can grow without breaking its callers.
/// </summary>
public sealed record FollowStreamRequest
{
    /// <summary>The session.</summary>
    public string? SessionId { get; init; }

    /// <summary>The message.</summary>
    public string? MessageId { get; init; }

    /// <summary>The first offset to deliver; 0 when left out. Taken as sent and checked by the hub, so a bad one gets <c>InvalidOffset</c>.</summary>
    public object? FromOffset { get; init; }

    /// <summary>The identity of the stream the reader resumes (the <c>streamId</c> of its events), or null for any.</summary>
    public string? StreamId { get; init; }

    /// <summary>Whether the catch-up comes compacted: each run of text chunks up to the stream's end merged into one event.</summary>
    public bool Compact { get; init; }
}

/// <summary>
/// <c>GET …/snapshot</c>: the stream so far, compacted, for a page that renders on the server, and where to follow on.
/// </summary>
/// <param name="Events">The events from offset 0 to <paramref name="NextOffset"/>, each run of text chunks merged into one.</param>
/// <param name="NextOffset">Where to follow from (<c>fromOffset</c> of the hub, SSE or a page read).</param>
/// <param name="Completed">Whether the stream ended: nothing follows <paramref name="NextOffset"/>.</param>
/// <param name="StreamId">The stream's identity, to resume it and nothing else; null for a stream that holds nothing.</param>
/// <param name="ReachedEnd">
/// Whether the snapshot reached the stream's end as it was: false only for a stream longer than one snapshot reads, when
/// the rest is to be followed from <paramref name="NextOffset"/>.
/// </param>
public sealed record StreamSnapshot(IReadOnlyList<StreamEvent> Events, long NextOffset, bool Completed, string? StreamId, bool ReachedEnd);

/// <summary>The body of a successful append: the offset of the stored event.</summary>
public sealed record AppendResult(long Offset);

/// <summary>Why a Server-Sent Events response ended before <c>complete</c>.</summary>
/// <param name="Code">The error code, such as <c>ServerShuttingDown</c> or <c>StreamNotFound</c>.</param>
/// <param name="Message">What happened, for people.</param>
public sealed record StreamError(string Code, string Message);

/// <summary>The answer to <c>DELETE …/messages/{messageId}</c>: whether there was a stream to delete.</summary>
public sealed record MessageDeleted(bool Deleted);

/// <summary>The answer to <c>DELETE /api/sessions/{sessionId}</c>: how many of its messages were deleted.</summary>
public sealed record SessionDeleted(int DeletedMessages);

/// <summary>Source-generated JSON for the wire types, shared by SignalR, HTTP and SSE.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StreamEvent))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(EventsPage))]
[JsonSerializable(typeof(AppendResult))]
[JsonSerializable(typeof(FollowStreamRequest))]
[JsonSerializable(typeof(StreamSnapshot))]
[JsonSerializable(typeof(ProducerLease))]
[JsonSerializable(typeof(StreamInfo))]
[JsonSerializable(typeof(StreamError))]
[JsonSerializable(typeof(SessionPage))]
[JsonSerializable(typeof(SessionUpdate))]
[JsonSerializable(typeof(MessageDeleted))]
[JsonSerializable(typeof(SessionDeleted))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(object))]
public sealed partial class WireJsonContext : JsonSerializerContext
{
    /// <summary>
    /// The wire types as the server writes them: every event with its <c>offset</c>, 0 included. <see cref="StreamEvent"/>
    /// itself leaves a default offset out, because it is also what .NET producers append: an event they send with the
    /// default 0 must stay a plain append, not become the deprecated conditional form. The server is the one writer
    /// that always names the offset, so this is the one place that says so. (How an incoming event's offset is told
    /// apart from a missing one: <see cref="IncomingEvent"/>.)
    /// </summary>
    // Built on first use: the generated Default may not be set yet while this class's other statics are.
    public static IJsonTypeInfoResolver Outgoing => s_outgoing ??= Default.WithAddedModifier(static type =>
    {
        if (type.Type == typeof(StreamEvent))
        {
            foreach (var property in type.Properties.Where(p => p.Name == "offset"))
            {
                property.ShouldSerialize = null;
            }
        }
    });

    /// <summary>Options for writing wire types directly (SSE).</summary>
    public static JsonSerializerOptions OutgoingOptions => s_outgoingOptions ??= new(Default.Options) { TypeInfoResolver = Outgoing };

    private static IJsonTypeInfoResolver? s_outgoing;
    private static JsonSerializerOptions? s_outgoingOptions;

    /// <summary>
    /// The options of the hub's JSON protocol, on their own: what the MessagePack protocol beside it follows, so that
    /// both write and read the wire types alike.
    /// </summary>
    public static JsonSerializerOptions HubOptions()
    {
        var options = HubStreamsMessagePack.JsonProtocolDefaults();
        Apply(options);
        return options;
    }

    /// <summary>Puts the wire types, as the server writes them, first in <paramref name="options"/>, with nulls left out.</summary>
    public static void Apply(JsonSerializerOptions options)
    {
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        options.TypeInfoResolverChain.Insert(0, Outgoing);
    }
}
