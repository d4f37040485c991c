using System.Collections.Concurrent;
using System.Text.Json;
using HubStreams.Contracts;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;

namespace HubStreams.Protocols.MessagePack;

/// <summary>
/// SignalR's MessagePack protocol for HubStreams. Every HubStreams wire type travels in the shape it has in JSON: a
/// map with the JSON property names (<c>offset</c>, <c>type</c>, <c>data</c>, …), an event's <c>data</c> as the
/// MessagePack form of its JSON (objects as maps, numbers as integers where whole), a timestamp as the same ISO 8601
/// string. So a JavaScript client with <c>@microsoft/signalr-protocol-msgpack</c> receives the objects a JSON one
/// does, and a .NET client the same <see cref="StreamEvent"/>. A value sent as an event or an offset that JSON could
/// not hold (binary, extensions, non-string keys, nesting deeper than 64, a header that claims more than the message
/// holds) arrives as a <see cref="Refused"/> marker instead of failing SignalR's binding, so the hub refuses it with a
/// code, as it does malformed JSON.
/// </summary>
public static class HubStreamsMessagePack
{
    /// <summary>
    /// The start of the string a refused MessagePack value arrives as (an event or an offset argument), followed by why;
    /// the hub refuses it with <c>InvalidEvent</c> or <c>InvalidOffset</c> and that reason.
    /// </summary>
    public const string Refused = "\uFFFFhubstreams-refused: ";

    /// <summary>
    /// Serializer options for SignalR's MessagePack protocol that write and read the HubStreams wire types as
    /// <paramref name="json"/> does (the options of the JSON protocol beside it), untrusted data guarded.
    /// </summary>
    public static MessagePackSerializerOptions SerializerOptions(JsonSerializerOptions json) =>
        MessagePackSerializerOptions.Standard
            .WithResolver(new WireResolver(json))
            .WithSecurity(MessagePackSecurity.UntrustedData);

    /// <summary>
    /// Adds SignalR's MessagePack protocol to a server or a client, with the HubStreams wire types in their JSON shape
    /// (see <see cref="SerializerOptions"/>); <paramref name="json"/> defaults to what SignalR's JSON protocol uses
    /// (camel-case names, read in any case).
    /// </summary>
    public static TBuilder AddHubStreamsMessagePackProtocol<TBuilder>(this TBuilder builder, JsonSerializerOptions? json = null)
        where TBuilder : ISignalRBuilder
    {
        var options = SerializerOptions(json ?? JsonProtocolDefaults());
        builder.AddMessagePackProtocol(o => o.SerializerOptions = options);
        return builder;
    }

    /// <summary>What SignalR's JSON protocol serializes with by default: camel-case names, read in any case.</summary>
    public static JsonSerializerOptions JsonProtocolDefaults() =>
        new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, PropertyNameCaseInsensitive = true };

    /// <summary>Whether <paramref name="value"/> is a refused MessagePack value, and why.</summary>
    public static bool IsRefused(JsonElement value, out string reason)
    {
        if (value.ValueKind == JsonValueKind.String && value.GetString() is { } text && text.StartsWith(Refused, StringComparison.Ordinal))
        {
            reason = text[Refused.Length..];
            return true;
        }

        reason = "";
        return false;
    }

    private static JsonElement RefusedElement(string reason) => JsonSerializer.SerializeToElement(Refused + reason);

    // HubStreams' own types, JsonElement and object go through JSON; everything else (strings, numbers, arrays of them)
    // as SignalR's own MessagePack protocol writes it.
    private sealed class WireResolver(JsonSerializerOptions json) : IFormatterResolver
    {
        // Asked on every message: found without a lock once built.
        private readonly ConcurrentDictionary<Type, object?> _formatters = new();

        public IMessagePackFormatter<T>? GetFormatter<T>() =>
            (IMessagePackFormatter<T>?)_formatters.GetOrAdd(typeof(T), static (_, resolver) => resolver.Build<T>(), this);

        private object? Build<T>()
        {
            var type = typeof(T);
            if (type == typeof(JsonElement))
            {
                return JsonElementFormatter.Instance;
            }

            if (type == typeof(JsonElement?))
            {
                return NullableJsonElementFormatter.Instance;
            }

            if (type == typeof(object))
            {
                return new ArgumentFormatter(json);
            }

            if (type.Namespace?.StartsWith("HubStreams", StringComparison.Ordinal) == true)
            {
                return new JsonShapedFormatter<T>(json);
            }

            return ContractlessStandardResolver.Instance.GetFormatter<T>();
        }
    }

    private sealed class JsonElementFormatter : IMessagePackFormatter<JsonElement>
    {
        public static readonly JsonElementFormatter Instance = new();

        public void Serialize(ref MessagePackWriter writer, JsonElement value, MessagePackSerializerOptions options) =>
            JsonValueTranscoder.Write(ref writer, value);

        public JsonElement Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
        {
            var element = JsonValueTranscoder.ReadElement(ref reader, out var refusal);
            return refusal is null ? element : RefusedElement(refusal);
        }
    }

    private sealed class NullableJsonElementFormatter : IMessagePackFormatter<JsonElement?>
    {
        public static readonly NullableJsonElementFormatter Instance = new();

        public void Serialize(ref MessagePackWriter writer, JsonElement? value, MessagePackSerializerOptions options)
        {
            if (value is { } element)
            {
                JsonValueTranscoder.Write(ref writer, element);
            }
            else
            {
                writer.WriteNil();
            }
        }

        public JsonElement? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
            reader.TryReadNil() ? null : JsonElementFormatter.Instance.Deserialize(ref reader, options);
    }

    // An argument the hub takes as sent (an offset): read as the JSON value it would be in the JSON protocol.
    private sealed class ArgumentFormatter(JsonSerializerOptions json) : IMessagePackFormatter<object?>
    {
        public void Serialize(ref MessagePackWriter writer, object? value, MessagePackSerializerOptions options)
        {
            if (value is null)
            {
                writer.WriteNil();
                return;
            }

            JsonValueTranscoder.Write(ref writer, JsonSerializer.SerializeToElement(value, value.GetType(), json));
        }

        public object? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
            JsonElementFormatter.Instance.Deserialize(ref reader, options);
    }

    // A wire type as the JSON protocol beside it writes and reads it.
    private sealed class JsonShapedFormatter<T>(JsonSerializerOptions json) : IMessagePackFormatter<T>
    {
        public void Serialize(ref MessagePackWriter writer, T value, MessagePackSerializerOptions options)
        {
            if (value is StreamEvent streamEvent)
            {
                StreamEventWriter.Write(ref writer, streamEvent, json);
                return;
            }

            JsonValueTranscoder.Write(ref writer, JsonSerializer.SerializeToElement(value, json));
        }

        public T Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
        {
            var element = JsonValueTranscoder.ReadElement(ref reader, out var refusal);
            if (refusal is not null)
            {
                throw new MessagePackSerializationException($"A {typeof(T).Name} cannot be read: {refusal}.");
            }

            return element.Deserialize<T>(json)!;
        }
    }
}
