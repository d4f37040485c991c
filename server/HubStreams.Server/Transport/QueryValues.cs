using System.Globalization;
using HubStreams.Streams;

namespace HubStreams.Server.Transport;

/// <summary>The query values of the HTTP routes, parsed here so that a bad one is refused with its own code.</summary>
internal static class QueryValues
{
    /// <summary>
    /// An offset (<c>fromOffset</c>, or the <paramref name="name"/> given): a whole number 0 or more, 0 when absent.
    /// </summary>
    public static long Offset(string? value, string name = "fromOffset") =>
        value is null ? 0
        : long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var offset) ? NotNegative(offset, name)
        : throw new StreamException(StreamErrorCode.InvalidOffset, $"{name} must be a whole number 0 or more, not '{value}'.");

    /// <summary>Refuses a negative offset under the name the client gave it.</summary>
    public static long NotNegative(long offset, string name) => offset >= 0
        ? offset
        : throw new StreamException(StreamErrorCode.InvalidOffset, $"{name} must be 0 or more, not {offset}.");

    /// <summary><c>limit</c>: a whole number from 1, <paramref name="defaultLimit"/> when absent.</summary>
    public static int Limit(string? value, int defaultLimit) =>
        value is null ? defaultLimit
        : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit >= 1 ? limit
        : throw new StreamException(StreamErrorCode.InvalidLimit, $"limit must be a whole number 1 or more, not '{value}'.");

    /// <summary>A flag (<c>compact</c>): <c>true</c> or <c>false</c>, false when absent.</summary>
    public static bool Flag(string? value, string name) =>
        value is null ? false
        : bool.TryParse(value, out var flag) ? flag
        : throw new StreamException(StreamErrorCode.InvalidRequest, $"{name} must be true or false, not '{value}'.");
}
