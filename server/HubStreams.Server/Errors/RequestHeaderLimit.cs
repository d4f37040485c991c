using HubStreams.Streams;

namespace HubStreams.Server.Errors;

/// <summary>
/// Requests whose headers are larger than HubStreams reads are refused with <c>HeadersTooLarge</c> (431) and a problem
/// body, like every refusal. Kestrel is given twice the room, so that it is HubStreams that refuses them; past that
/// Kestrel itself closes the request with a bare 431.
/// </summary>
internal static class RequestHeaderLimit
{
    /// <summary>The most header bytes a request may carry: what Kestrel allows by default.</summary>
    public const int Bytes = 32 * 1024;

    /// <summary>Kestrel's own limit, above <see cref="Bytes"/>.</summary>
    public const int KestrelBytes = 2 * Bytes;

    public static Task Refuse(HttpContext context, RequestDelegate next)
    {
        var size = 0L;
        foreach (var (name, values) in context.Request.Headers)
        {
            foreach (var value in values)
            {
                // As Kestrel counts them: the name, the value, and ": " and the line end.
                size += name.Length + (value?.Length ?? 0) + 4;
            }
        }

        if (size > Bytes)
        {
            throw new StreamException(StreamErrorCode.HeadersTooLarge,
                $"The request's headers are {size} bytes; at most {Bytes} are read. (A Last-Event-ID is an event's id, a few dozen characters.)");
        }

        return next(context);
    }
}
