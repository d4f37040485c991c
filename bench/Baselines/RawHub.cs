using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using HubStreams.Contracts;
using HubStreams.Streams;
using Microsoft.AspNetCore.SignalR;

namespace HubStreams.Bench.Baselines;

/// <summary>
/// The ceiling of the SignalR path: appends go straight from an in-process channel to the subscribers of
/// that stream, with no store, no offsets kept, no resume.
/// </summary>
public sealed class RawHub(RawChannels channels) : Hub
{
    public async IAsyncEnumerable<StreamEvent> StreamEvents(
        string sessionId, string messageId, long fromOffset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<StreamEvent>(new UnboundedChannelOptions { SingleReader = true });
        var key = $"{sessionId}/{messageId}";
        channels.Add(key, channel.Writer);
        try
        {
            await foreach (var streamEvent in channel.Reader.ReadAllAsync(cancellationToken))
            {
                yield return streamEvent;
            }
        }
        finally
        {
            channels.Remove(key, channel.Writer);
        }
    }

    public long AppendEvent(string sessionId, string messageId, StreamEvent streamEvent) =>
        channels.Publish($"{sessionId}/{messageId}", streamEvent);
}

/// <summary>The subscribers of each raw stream.</summary>
public sealed class RawChannels
{
    private readonly ConcurrentDictionary<string, ImmutableSubscribers> _subscribers = new();
    private long _published;

    public void Add(string key, ChannelWriter<StreamEvent> writer) =>
        _subscribers.AddOrUpdate(key, _ => new([writer]), (_, s) => new([.. s.Writers, writer]));

    public void Remove(string key, ChannelWriter<StreamEvent> writer) =>
        _subscribers.AddOrUpdate(key, _ => new([]), (_, s) => new([.. s.Writers.Where(w => w != writer)]));

    public long Publish(string key, StreamEvent streamEvent)
    {
        var offset = Interlocked.Increment(ref _published) - 1;
        if (_subscribers.TryGetValue(key, out var subscribers))
        {
            var stamped = streamEvent with { Offset = offset };
            foreach (var writer in subscribers.Writers)
            {
                writer.TryWrite(stamped);
            }
        }

        return offset;
    }

    private sealed record ImmutableSubscribers(ChannelWriter<StreamEvent>[] Writers);
}
