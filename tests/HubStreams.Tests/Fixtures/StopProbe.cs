using System.Diagnostics;
using HubStreams.Contracts;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Fixtures;

/// <summary>A reader that follows a producer's stream, asks it to stop after some answer chunks, and times the stop.</summary>
public static class StopProbe
{
    /// <summary>
    /// Follows the stream on <paramref name="reader"/>; after <paramref name="answers"/> answer chunks it stops the
    /// message, and returns how long it then took until <c>complete</c> arrived.
    /// </summary>
    public static async Task<TimeSpan> StopAfterAsync(HubConnection reader, string sessionId, string messageId, int answers, CancellationToken cancellationToken)
    {
        var stopAt = Stopwatch.StartNew();
        var seen = 0;
        await foreach (var e in reader.StreamAsync<StreamEvent>("StreamEvents", sessionId, messageId, 0L, cancellationToken))
        {
            if (e.Type == EventTypes.Answer && ++seen == answers)
            {
                await reader.InvokeAsync<long>("StopMessage", sessionId, messageId, cancellationToken);
                stopAt.Restart();
            }

            if (e.Type == EventTypes.Complete)
            {
                break;
            }
        }

        return stopAt.Elapsed;
    }
}
