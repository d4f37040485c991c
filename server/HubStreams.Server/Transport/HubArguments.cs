using System.Globalization;
using System.Text.Json;
using HubStreams.Protocols.MessagePack;
using HubStreams.Streams;

namespace HubStreams.Server.Transport;

/// <summary>
/// Hub arguments that SignalR would otherwise bind itself, and refuse without a code when their type is wrong: taken as
/// sent (a JSON value, or the MessagePack protocol's number) and parsed here, so that a bad one is refused with its own
/// code like every other refusal.
/// </summary>
internal static class HubArguments
{
    /// <summary>
    /// An offset argument (<c>fromOffset</c>, <c>offset</c>): a whole number 0 or more that fits in 64 bits.
    /// </summary>
    /// <exception cref="StreamException"><see cref="StreamErrorCode.InvalidOffset"/>: not a whole number, or negative.</exception>
    public static long Offset(object? value, string name) => QueryValues.NotNegative(Whole(value, name), name);

    private static long Whole(object? value, string name) => value switch
    {
        JsonElement refused when HubStreamsMessagePack.IsRefused(refused, out var reason) =>
            throw new StreamException(StreamErrorCode.InvalidOffset, $"{name} cannot be read: {reason}."),
        JsonElement { ValueKind: JsonValueKind.Number } number when number.TryGetInt64(out var offset) => offset,
        long offset => offset,
        int offset => offset,
        uint offset => offset,
        short offset => offset,
        ushort offset => offset,
        byte offset => offset,
        sbyte offset => offset,
        ulong offset when offset <= long.MaxValue => (long)offset,
        _ => throw new StreamException(StreamErrorCode.InvalidOffset, $"{name} must be a whole number 0 or more, not {Shown(value)}."),
    };

    private static string Shown(object? value) => value switch
    {
        null => "null",
        JsonElement element => element.GetRawText() is { Length: <= 64 } text ? text : $"a JSON {element.ValueKind.ToString().ToLowerInvariant()}",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => $"a {value.GetType().Name}",
    };
}
