using System.Buffers;
using System.Text.Json;
using MessagePack;

namespace HubStreams.Protocols.MessagePack;

/// <summary>
/// Moves values between MessagePack and JSON, so that every HubStreams wire type has one shape in both protocols: a map
/// with string keys is a JSON object, an array an array, and so on. Reading MessagePack sent by a client never throws
/// and never recurses: a value JSON cannot hold (binary, extensions, a map key that is not a string, a number that is
/// not finite), one nested deeper than <see cref="MaxDepth"/>, or one whose header claims more items than the message
/// holds, is read past and refused (<see cref="TryRead"/> says why), so that the hub can refuse it with a code.
/// </summary>
internal static class JsonValueTranscoder
{
    /// <summary>The deepest nesting read, as System.Text.Json's default for the JSON protocol.</summary>
    public const int MaxDepth = 64;

    /// <summary>
    /// Reads one MessagePack value as JSON into <paramref name="json"/>; false, with <paramref name="refusal"/> saying why,
    /// when it has no JSON form. Either way the reader is past the value (or at the message's end, when a header lied).
    /// </summary>
    public static bool TryRead(ref MessagePackReader reader, Utf8JsonWriter json, out string? refusal)
    {
        refusal = null;

        // What is left to read of each open container: items of an array, keys and values of a map (2 an entry). Once a
        // refusal stands, nothing more is written (output is null): the rest of the value is only read past.
        var open = new Stack<(bool IsMap, long Left)>();
        var readTopLevel = false;
        Utf8JsonWriter? output = json;
        while (!readTopLevel || open.Count > 0)
        {
            if (refusal is not null)
            {
                output = null;
            }

            if (open.Count > 0 && open.Peek().Left == 0)
            {
                if (open.Pop().IsMap)
                {
                    output?.WriteEndObject();
                }
                else
                {
                    output?.WriteEndArray();
                }

                continue;
            }

            if (reader.End)
            {
                refusal ??= "the message ends inside a value";
                return false;
            }

            var isKey = false;
            if (open.Count > 0)
            {
                var (isMap, left) = open.Pop();
                isKey = isMap && left % 2 == 0;
                open.Push((isMap, left - 1));
            }
            else
            {
                readTopLevel = true;
            }

            if (isKey)
            {
                if (reader.NextMessagePackType != MessagePackType.String)
                {
                    refusal ??= $"a map key is {Describe(reader.NextMessagePackType)}, not a string";
                    SkipScalarOrOpen(ref reader, open, ref refusal);
                    continue;
                }

                // Read whether or not it is written: a null output skips the call's arguments too.
                var key = reader.ReadString()!;
                output?.WritePropertyName(key);
                continue;
            }

            switch (reader.NextMessagePackType)
            {
                case MessagePackType.Nil:
                    reader.ReadNil();
                    output?.WriteNullValue();
                    break;
                case MessagePackType.Boolean:
                    var flag = reader.ReadBoolean();
                    output?.WriteBooleanValue(flag);
                    break;
                case MessagePackType.Integer when reader.NextCode == MessagePackCode.UInt64:
                    var large = reader.ReadUInt64();
                    output?.WriteNumberValue(large);
                    break;
                case MessagePackType.Integer:
                    var whole = reader.ReadInt64();
                    output?.WriteNumberValue(whole);
                    break;
                case MessagePackType.Float:
                    var number = reader.ReadDouble();
                    if (double.IsFinite(number))
                    {
                        output?.WriteNumberValue(number);
                    }
                    else
                    {
                        refusal ??= $"the number {number} has no JSON form";
                    }

                    break;
                case MessagePackType.String:
                    var text = reader.ReadString();
                    output?.WriteStringValue(text);
                    break;
                case MessagePackType.Array or MessagePackType.Map:
                    Open(ref reader, output, open, ref refusal);
                    break;
                default:
                    refusal ??= $"{Describe(reader.NextMessagePackType)} has no JSON form";
                    reader.Skip();
                    break;
            }
        }

        return refusal is null;
    }

    // An array or a map header: opened when deep enough and honest about its size, else refused and read past.
    private static void Open(ref MessagePackReader reader, Utf8JsonWriter? json, Stack<(bool IsMap, long Left)> open, ref string? refusal)
    {
        var isMap = reader.NextMessagePackType == MessagePackType.Map;
        var remaining = reader.Sequence.Slice(reader.Position).Length;
        int count;
        if (!(isMap ? reader.TryReadMapHeader(out count) : reader.TryReadArrayHeader(out count)))
        {
            refusal ??= "the message ends inside a header";
            reader.ReadRaw(reader.Sequence.Slice(reader.Position).Length);
            return;
        }

        // Each item takes a byte at the least: a header that claims more than the message holds is a lie, read no further.
        var items = isMap ? 2L * count : count;
        if (items > remaining)
        {
            refusal ??= $"a{(isMap ? " map" : "n array")} claims {count} {(isMap ? "entries" : "items")} in a message of {remaining} bytes";
            reader.ReadRaw(reader.Sequence.Slice(reader.Position).Length);
            return;
        }

        if (open.Count >= MaxDepth)
        {
            refusal ??= $"values are nested deeper than {MaxDepth}";
        }

        if (refusal is null && json is not null)
        {
            if (isMap)
            {
                json.WriteStartObject();
            }
            else
            {
                json.WriteStartArray();
            }
        }

        open.Push((isMap, items));
    }

    private static void SkipScalarOrOpen(ref MessagePackReader reader, Stack<(bool IsMap, long Left)> open, ref string? refusal)
    {
        if (reader.NextMessagePackType is MessagePackType.Array or MessagePackType.Map)
        {
            // Opened with a refusal standing: nothing is written, its items are read past one by one.
            Open(ref reader, null, open, ref refusal);
        }
        else
        {
            reader.Skip();
        }
    }

    private static string Describe(MessagePackType type) => type switch
    {
        MessagePackType.Binary => "binary data",
        MessagePackType.Extension => "an extension value",
        MessagePackType.Integer => "a number",
        MessagePackType.Float => "a number",
        MessagePackType.Boolean => "a boolean",
        MessagePackType.Nil => "nil",
        MessagePackType.Array => "an array",
        MessagePackType.Map => "a map",
        _ => "an unknown value",
    };

    /// <summary>Writes a JSON value as MessagePack: objects as maps with string keys, numbers as integers where whole.</summary>
    public static void Write(ref MessagePackWriter writer, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var count = 0;
                foreach (var _ in value.EnumerateObject())
                {
                    count++;
                }

                writer.WriteMapHeader(count);
                foreach (var property in value.EnumerateObject())
                {
                    writer.Write(property.Name);
                    Write(ref writer, property.Value);
                }

                break;
            case JsonValueKind.Array:
                writer.WriteArrayHeader(value.GetArrayLength());
                foreach (var item in value.EnumerateArray())
                {
                    Write(ref writer, item);
                }

                break;
            case JsonValueKind.String:
                writer.Write(value.GetString());
                break;
            case JsonValueKind.Number when value.TryGetInt64(out var whole):
                writer.Write(whole);
                break;
            case JsonValueKind.Number when value.TryGetUInt64(out var large):
                writer.Write(large);
                break;
            case JsonValueKind.Number:
                writer.Write(value.GetDouble());
                break;
            case JsonValueKind.True:
                writer.Write(true);
                break;
            case JsonValueKind.False:
                writer.Write(false);
                break;
            default:
                writer.WriteNil();
                break;
        }
    }

    /// <summary>Reads one MessagePack value as a <see cref="JsonElement"/>, or the refusal of it.</summary>
    public static JsonElement ReadElement(ref MessagePackReader reader, out string? refusal)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
        {
            if (!TryRead(ref reader, json, out refusal))
            {
                return default;
            }
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }
}
