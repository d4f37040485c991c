using System.Text.Json;
using System.Text.Json.Serialization;
using HubStreams.Streams.Sessions;
using StackExchange.Redis;

namespace HubStreams.Streams.Redis;

/// <summary>
/// A session's changes over Redis pub/sub, on the session's own channel (<see cref="RedisStreamOptions.SessionChannelFor"/>,
/// under the connection's channel scope), as JSON. Classic pub/sub, which a Redis Cluster carries to every node: a
/// session's changes are a few per message, not per event. In a cluster the channel is routed by its name, as a key is:
/// every node publishes a session's changes to the one server that owns its slot, and listens there, so they are heard
/// in the order they were published (published to any server, two changes could cross on their way between servers).
/// Each listener has a queue of its own, read in order; the connection subscribes the channel once per node while any
/// listens.
/// </summary>
public sealed class RedisSessionChanges(IConnectionMultiplexer redis) : ISessionChanges
{
    /// <inheritdoc />
    public async Task PublishAsync(SessionUpdate change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        var json = JsonSerializer.SerializeToUtf8Bytes(change, SessionChangeJson.Default.SessionUpdate);
        try
        {
            await redis.GetSubscriber().PublishAsync(Channel(change.SessionId), json);
        }
        catch (Exception e) when (RedisFailures.IsUnavailable(e))
        {
            throw new StreamException(StreamErrorCode.StoreUnavailable, $"Session {change.SessionId}'s change could not be published: Redis is unavailable.", e);
        }
    }

    /// <inheritdoc />
    public async Task<SessionListener> ListenAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        ChannelMessageQueue queue;
        try
        {
            queue = await redis.GetSubscriber().SubscribeAsync(Channel(sessionId));
        }
        catch (Exception e) when (RedisFailures.IsUnavailable(e))
        {
            throw new StreamException(StreamErrorCode.StoreUnavailable, $"Session {sessionId}'s changes cannot be heard: Redis is unavailable.", e);
        }

        // A queue of its own, read in order: a handler may be called for two messages at once, and changes must not swap.
        var listener = new SessionListener(sessionId, _ => queue.Unsubscribe(CommandFlags.FireAndForget));
        queue.OnMessage(message =>
        {
            if (Parse(message.Message) is { } change && change.SessionId == sessionId)
            {
                listener.Deliver(change);
            }
        });
        return listener;
    }

    private static RedisChannel Channel(string sessionId) =>
        RedisChannel.Literal(RedisStreamOptions.SessionChannelFor(sessionId)).WithKeyRouting();

    private static SessionUpdate? Parse(RedisValue message)
    {
        try
        {
            return JsonSerializer.Deserialize((byte[])message!, SessionChangeJson.Default.SessionUpdate);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(SessionUpdate))]
internal sealed partial class SessionChangeJson : JsonSerializerContext;
