namespace HubStreams.Contracts;

/// <summary>
/// The rule for session and message ids: 1 to 128 characters of <c>A-Z</c>, <c>a-z</c>, <c>0-9</c>, <c>_</c>,
/// <c>.</c> or <c>-</c>, not made only of dots. No id may contain <c>:</c> or <c>/</c>, and none is <c>.</c> or <c>..</c>,
/// so a stream's Redis key and its URL name exactly one stream.
/// </summary>
public static class StreamIds
{
    /// <summary>The longest id accepted, in characters.</summary>
    public const int MaxLength = 128;

    /// <summary>What a valid id looks like, for messages.</summary>
    public const string Rule = "1 to 128 characters of A-Z, a-z, 0-9, '_', '.' or '-', not only dots";

    /// <summary>Whether <paramref name="id"/> is a valid session or message id.</summary>
    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength)
        {
            return false;
        }

        var onlyDots = true;
        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            {
                return false;
            }

            onlyDots &= c == '.';
        }

        // "." and ".." are path segments, not names: a URL could never reach them.
        return !onlyDots;
    }
}
