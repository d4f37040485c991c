using System.Runtime.CompilerServices;
using HubStreams.Streams;
using Microsoft.AspNetCore.SignalR;

namespace HubStreams.Bench.Baselines;

/// <summary>
/// The original design, faithfully: the stream method reads the store from its offset (GetEvents) every
/// 100 ms, whether anything was appended or not, over the same store HubStreams uses.
/// </summary>
public sealed class PollingHub(IStreamManager streams) : Hub
{
    /// <summary>The original design's poll interval.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    public async IAsyncEnumerable<StreamEvent> StreamEvents(
        string sessionId, string messageId, long fromOffset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var key = StreamKey.Create(sessionId, messageId);
        var offset = fromOffset;
        while (!cancellationToken.IsCancellationRequested)
        {
            var page = await streams.ReadAsync(key, offset, int.MaxValue, cancellationToken);
            foreach (var streamEvent in page.Events)
            {
                yield return streamEvent;
                if (streamEvent.IsComplete)
                {
                    yield break;
                }
            }

            offset = page.NextOffset;
            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    public Task<long> AppendEvent(string sessionId, string messageId, StreamEvent streamEvent) =>
        streams.AppendAsync(StreamKey.Create(sessionId, messageId), streamEvent, Context.ConnectionAborted);
}
