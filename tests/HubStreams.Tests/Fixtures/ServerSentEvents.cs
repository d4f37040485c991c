using System.Runtime.CompilerServices;
using System.Text;

namespace HubStreams.Tests.Fixtures;

/// <summary>One message of a Server-Sent Events response; a comment line is a message with <see cref="Comment"/> set.</summary>
public sealed record SseMessage(string? Id, string? Event, string? Data, string? Comment);

/// <summary>A small, strict Server-Sent Events parser for the tests.</summary>
public static class ServerSentEvents
{
    public static async IAsyncEnumerable<SseMessage> ReadAsync(Stream body, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var reader = new StreamReader(body, Encoding.UTF8);
        string? id = null, type = null, comment = null;
        StringBuilder? data = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (id is not null || type is not null || data is not null || comment is not null)
                {
                    yield return new SseMessage(id, type, data?.ToString(), comment);
                }

                id = type = comment = null;
                data = null;
                continue;
            }

            if (line.StartsWith(':'))
            {
                comment = line[1..].Trim();
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "id": id = value; break;
                case "event": type = value; break;
                case "data": (data ??= new StringBuilder()).Append(data.Length > 0 ? "\n" : "").Append(value); break;
            }
        }
    }
}
