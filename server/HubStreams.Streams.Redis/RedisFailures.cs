using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace HubStreams.Streams.Redis;

/// <summary>
/// How the Redis store tells a Redis that cannot serve now from one that refuses: the first becomes
/// <see cref="StreamErrorCode.StoreUnavailable"/> (try again shortly), counted and logged once, here.
/// </summary>
internal sealed class RedisFailures(RedisMetrics metrics, ILogger logger)
{
    private static readonly string[] PassingErrors = ["CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "NOREPLICAS", "READONLY", "LOADING"];

    /// <summary>Runs <paramref name="operation"/> on <paramref name="key"/>'s behalf, turning a Redis away into <c>StoreUnavailable</c>.</summary>
    public async Task<T> Run<T>(StreamKey? key, Func<Task<T>> operation)
    {
        try
        {
            return await operation();
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw Unavailable(key, e);
        }
    }

    /// <summary>Whether <paramref name="e"/> says Redis cannot be reached, or cannot serve the command for now.</summary>
    public static bool IsUnavailable(Exception e) => e is RedisConnectionException or RedisTimeoutException || IsPassing(e);

    // What Redis answers while it cannot serve a command for now, such as a cluster slot without a primary during a
    // failover (CLUSTERDOWN, TRYAGAIN), a primary whose replicas are gone (MASTERDOWN, NOREPLICAS), a replica not yet
    // promoted (READONLY) or a server loading its data (LOADING): the command may succeed when tried again.
    private static bool IsPassing(Exception e) =>
        e is RedisServerException { Message: var message }
        && PassingErrors.Any(prefix => message.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>The refusal for a Redis that could not serve an operation on <paramref name="key"/>; counted and logged.</summary>
    public StreamException Unavailable(StreamKey? key, Exception e)
    {
        metrics.Failed();
        RedisLog.OperationFailed(logger, key?.ToString() ?? "(none)", e.GetType().Name, e.Message);
        return new StreamException(StreamErrorCode.StoreUnavailable,
            $"The stream store (Redis) is unavailable: {e.GetType().Name}. Try again shortly.", e);
    }

    /// <summary>The refusal for a store that has no Redis server connected at all; counted.</summary>
    public StreamException NoServer()
    {
        metrics.Failed();
        return new StreamException(StreamErrorCode.StoreUnavailable,
            "The stream store (Redis) is unavailable: no Redis server is connected. Try again shortly.");
    }
}

/// <summary>The Redis store's log messages.</summary>
internal static partial class RedisLog
{
    [LoggerMessage(1, LogLevel.Warning, "Redis operation on stream {Stream} failed: {ErrorType}: {Error}")]
    public static partial void OperationFailed(ILogger logger, string stream, string errorType, string error);

    [LoggerMessage(2, LogLevel.Information, "Redis {ConnectionType} connection restored; {Watches} open watches read again")]
    public static partial void ConnectionRestored(ILogger logger, string connectionType, int watches);

    [LoggerMessage(3, LogLevel.Warning, "Safety-net check of waited streams failed: {ErrorType}")]
    public static partial void SafetyNetCheckFailed(ILogger logger, string errorType);

    [LoggerMessage(4, LogLevel.Information, "Redis {Version}: wake-ups per stream by {Publishing}")]
    public static partial void WakeUpPublishing(ILogger logger, string publishing, string version);

    [LoggerMessage(5, LogLevel.Warning, "Redis refused sharded pub/sub ({Error}); wake-ups use classic pub/sub")]
    public static partial void ShardedPubSubRefused(ILogger logger, string error);
}
