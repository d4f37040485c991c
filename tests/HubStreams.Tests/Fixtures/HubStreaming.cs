using System.Threading.Channels;
using HubStreams.Contracts;
using HubStreams.Streams;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Fixtures;

/// <summary>Hub client helpers that turn pushed messages into channels a test can await one by one.</summary>
public static class HubStreaming
{
    /// <summary>
    /// Follows a stream in the background. Each event lands in <c>Events</c>, which completes when the stream
    /// ends; <c>Reading</c> faults if the stream does.
    /// </summary>
    public static (ChannelReader<StreamEvent> Events, Task Reading) Follow(
        HubConnection hub, string sessionId, string messageId, long fromOffset = 0, CancellationToken cancellationToken = default)
    {
        var events = Channel.CreateUnbounded<StreamEvent>();
        var reading = Task.Run(async () =>
        {
            try
            {
                await foreach (var e in hub.StreamAsync<StreamEvent>("StreamEvents", sessionId, messageId, fromOffset, cancellationToken))
                {
                    await events.Writer.WriteAsync(e);
                }
            }
            finally
            {
                events.Writer.Complete();
            }
        }, CancellationToken.None);
        return (events.Reader, reading);
    }

    /// <summary>The next event, or a failure after the safety timeout.</summary>
    public static Task<StreamEvent> NextAsync(this ChannelReader<StreamEvent> events) =>
        events.ReadAsync().AsTask().WaitAsync(Eventually.SafetyTimeout);

    /// <summary>Records <c>MessageStarted</c> and <c>MessageCompleted</c> as "started s/m" and "completed s/m".</summary>
    public static ChannelReader<string> ListenToSessions(HubConnection hub)
    {
        var heard = Channel.CreateUnbounded<string>();
        hub.On<string, string>("MessageStarted", (s, m) => heard.Writer.TryWrite($"started {s}/{m}"));
        hub.On<string, string>("MessageCompleted", (s, m) => heard.Writer.TryWrite($"completed {s}/{m}"));
        return heard.Reader;
    }
}
