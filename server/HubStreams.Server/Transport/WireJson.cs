using System.Text.Json;
using System.Text.Json.Serialization;
using HubStreams.Streams;

namespace HubStreams.Server.Transport;

/// <summary>The body of <c>GET …/events</c>, the original design's <c>GetEvents</c>.</summary>
/// <param name="Events">The events from the requested offset.</param>
/// <param name="NextOffset">Where to read next.</param>
/// <param name="Completed">Whether the stream holds its <c>complete</c> event.</param>
public sealed record EventsPage(IReadOnlyList<StreamEvent> Events, long NextOffset, bool Completed);

/// <summary>The body of a successful append: the offset of the stored event.</summary>
public sealed record AppendResult(long Offset);

/// <summary>Why a Server-Sent Events response ended before <c>complete</c>.</summary>
/// <param name="Code">The error code, such as <c>ServerShuttingDown</c> or <c>StreamNotFound</c>.</param>
/// <param name="Message">What happened, for people.</param>
public sealed record StreamError(string Code, string Message);

/// <summary>Source-generated JSON for the wire types, shared by SignalR, HTTP and SSE.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StreamEvent))]
[JsonSerializable(typeof(EventsPage))]
[JsonSerializable(typeof(AppendResult))]
[JsonSerializable(typeof(StreamError))]
[JsonSerializable(typeof(long))]
public sealed partial class WireJsonContext : JsonSerializerContext
{
    /// <summary>
    /// For events that arrive from clients: a duplicate property is refused rather than silently won by the last one
    /// (<c>{"type":"answer","type":"complete"}</c> must not store a <c>complete</c>).
    /// </summary>
    public static WireJsonContext Incoming { get; } = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        AllowDuplicateProperties = false,
    });

    /// <summary>Puts the wire types first in <paramref name="options"/>, with nulls left out.</summary>
    public static void Apply(JsonSerializerOptions options)
    {
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        options.TypeInfoResolverChain.Insert(0, Default);
    }
}
