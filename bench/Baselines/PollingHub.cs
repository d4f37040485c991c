using System.Runtime.CompilerServices;
using System.Text.Json;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Streams.Redis;
using Microsoft.AspNetCore.SignalR;
using StackExchange.Redis;

namespace HubStreams.Bench.Baselines;

/// <summary>
/// The original design, faithfully: the stream method reads the store from its offset (GetEvents) every
/// 100 ms, whether anything was appended or not. In Redis mode a read is what the original sent, one
/// <c>LRANGE key offset -1</c> on the same list HubStreams writes; in memory mode it reads the same store.
/// </summary>
public sealed class PollingHub(IStreamManager streams, IServiceProvider services) : Hub
{
    /// <summary>The original design's poll interval.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    public async IAsyncEnumerable<StreamEvent> StreamEvents(
        string sessionId, string messageId, long fromOffset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var key = StreamKey.Create(sessionId, messageId);
        var redis = services.GetService<IConnectionMultiplexer>();
        var redisLayout = services.GetService<RedisStreamOptions>();
        var offset = fromOffset;
        while (!cancellationToken.IsCancellationRequested)
        {
            var events = redis is null
                ? (await streams.ReadAsync(key, offset, int.MaxValue, cancellationToken)).Events
                : await GetEventsAsync(redis.GetDatabase(), redisLayout!.StreamKeyFor(key), offset);
            foreach (var streamEvent in events)
            {
                yield return streamEvent;
                offset = streamEvent.Offset + 1;
                if (streamEvent.IsComplete)
                {
                    yield break;
                }
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    public Task<long> AppendEvent(string sessionId, string messageId, StreamEvent streamEvent) =>
        streams.AppendAsync(StreamKey.Create(sessionId, messageId), streamEvent, Context.ConnectionAborted);

    private static async Task<IReadOnlyList<StreamEvent>> GetEventsAsync(IDatabase db, string key, long offset)
    {
        var elements = await db.ListRangeAsync(key, offset, -1);
        return [.. elements.Select((element, i) => JsonSerializer.Deserialize<StreamEvent>((string)element!, JsonSerializerOptions.Web)! with { Offset = offset + i })];
    }
}
