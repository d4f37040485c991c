using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using HubStreams.Contracts;
using MessagePack;

namespace HubStreams.Protocols.MessagePack;

/// <summary>
/// Writes a <see cref="StreamEvent"/>, the one type sent per token, straight to MessagePack, as the JSON options beside
/// it would write it: the same names, the same fields left out (a default <c>offset</c>, null fields, as those options
/// say), the timestamp as the same ISO 8601 text. Which fields the options leave out is read once, from how they write
/// an empty event.
/// </summary>
internal static class StreamEventWriter
{
    private static readonly ConditionalWeakTable<JsonSerializerOptions, Shape> Shapes = [];

    public static void Write(ref MessagePackWriter writer, StreamEvent e, JsonSerializerOptions json)
    {
        var shape = Shapes.GetValue(json, static options => Shape.Of(options));
        var withOffset = e.Offset != 0 || shape.WritesDefaultOffset;
        var nulls = shape.WritesNulls;
        var count = (withOffset ? 1 : 0) + (e.FirstOffset is not null ? 1 : 0) + 1
            + Count(e.Id is not null, nulls) + Count(e.Type is not null, nulls) + Count(e.Content is not null, nulls)
            + Count(e.Timestamp.HasValue, nulls) + Count(e.Data.HasValue, nulls) + Count(e.StreamId is not null, nulls);
        writer.WriteMapHeader(count);
        if (withOffset)
        {
            writer.Write("offset");
            writer.Write(e.Offset);
        }

        if (e.FirstOffset is { } first)
        {
            writer.Write("firstOffset");
            writer.Write(first);
        }

        WriteText(ref writer, "id", e.Id, nulls);
        WriteText(ref writer, "type", e.Type, nulls);
        WriteText(ref writer, "content", e.Content, nulls);
        writer.Write("done");
        writer.Write(e.Done);
        if (e.Timestamp is { } at)
        {
            writer.Write("timestamp");
            var text = ArrayPool<byte>.Shared.Rent(40);
            writer.WriteString(text.AsSpan(0, Iso8601(at, text)));
            ArrayPool<byte>.Shared.Return(text);
        }
        else if (nulls)
        {
            writer.Write("timestamp");
            writer.WriteNil();
        }

        if (e.Data is { } data)
        {
            writer.Write("data");
            JsonValueTranscoder.Write(ref writer, data);
        }
        else if (nulls)
        {
            writer.Write("data");
            writer.WriteNil();
        }

        WriteText(ref writer, "streamId", e.StreamId, nulls);
    }

    private static int Count(bool present, bool nulls) => present || nulls ? 1 : 0;

    private static void WriteText(ref MessagePackWriter writer, string name, string? value, bool nulls)
    {
        if (value is not null || nulls)
        {
            writer.Write(name);
            writer.Write(value);
        }
    }

    // As System.Text.Json writes it, in UTF-8 and without allocating: seconds' fraction only when there is one, without
    // its trailing zeros, then the offset from UTC. Returns the length written.
    private static int Iso8601(DateTimeOffset at, Span<byte> text)
    {
        at.TryFormat(text, out var length, "yyyy'-'MM'-'dd'T'HH':'mm':'ss.fffffff", CultureInfo.InvariantCulture);
        while (text[length - 1] == (byte)'0')
        {
            length--;
        }

        if (text[length - 1] == (byte)'.')
        {
            length--;
        }

        at.TryFormat(text[length..], out var zone, "zzz", CultureInfo.InvariantCulture);
        return length + zone;
    }

    private sealed record Shape(bool WritesDefaultOffset, bool WritesNulls)
    {
        public static Shape Of(JsonSerializerOptions options)
        {
            using var probe = JsonDocument.Parse(JsonSerializer.Serialize(new StreamEvent(), options));
            return new Shape(probe.RootElement.TryGetProperty("offset", out _), probe.RootElement.TryGetProperty("id", out _));
        }
    }
}
