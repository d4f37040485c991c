using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace HubStreams.Streams.Redis;

/// <summary>
/// How the Redis store tells a Redis that cannot serve now from one that refuses: the first becomes
/// <see cref="StreamErrorCode.StoreUnavailable"/> (try again shortly), counted and logged once, here. A Redis that
/// answers but refuses writes (out of memory, or unable to save) is one too, logged once while it lasts.
/// </summary>
internal sealed class RedisFailures(RedisMetrics metrics, ILogger logger)
{
    private static readonly string[] PassingErrors = ["CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "NOREPLICAS", "READONLY", "LOADING"];

    // 1 while Redis refuses writes, from the first refusal to the next write it accepts.
    private int _refusingWrites;

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

    /// <summary>
    /// Runs a write (an append) as <see cref="Run{T}"/> does; a Redis that refuses writes also becomes
    /// <c>StoreUnavailable</c>, with its cause, logged once until a write succeeds again.
    /// </summary>
    public async Task<T> RunWrite<T>(StreamKey key, Func<Task<T>> operation)
    {
        // Run's handling inlined: one state machine per write, not two.
        T result;
        try
        {
            result = await operation();
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw Unavailable(key, e);
        }
        catch (RedisServerException e) when (RedisWriteRefusal.Cause(e.Message) is { } cause)
        {
            metrics.Failed();
            if (Interlocked.Exchange(ref _refusingWrites, 1) == 0)
            {
                RedisLog.WritesRefused(logger, cause, e.Message);
            }

            throw new StreamException(StreamErrorCode.StoreUnavailable,
                $"The stream store (Redis) refuses writes: {cause}. Nothing was stored; try again later.", e);
        }

        if (Volatile.Read(ref _refusingWrites) == 1 && Interlocked.Exchange(ref _refusingWrites, 0) == 1)
        {
            RedisLog.WritesAccepted(logger);
        }

        return result;
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

/// <summary>A Redis that answers but refuses writes, told from its error text.</summary>
public static class RedisWriteRefusal
{
    /// <summary>
    /// Why Redis refuses a write, from its error, or null when the error is not such a refusal: out of memory
    /// (<c>OOM</c>: <c>maxmemory</c> reached with a policy that evicts nothing), or unable to save (<c>MISCONF</c>: a
    /// failed snapshot with <c>stop-writes-on-bgsave-error</c>). Inside a script the error keeps its code.
    /// </summary>
    public static string? Cause(string error) =>
        error.Contains("OOM command not allowed", StringComparison.Ordinal) || error.StartsWith("OOM ", StringComparison.Ordinal)
            ? "it is out of memory (maxmemory reached, and its policy evicts nothing)"
            : error.Contains("MISCONF", StringComparison.Ordinal)
                ? "it cannot save its data to disk (MISCONF), and refuses writes until it can"
                : null;
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

    [LoggerMessage(6, LogLevel.Error, "Redis refuses writes: {Cause}. Appends are refused with StoreUnavailable until it accepts them again. ({Error})")]
    public static partial void WritesRefused(ILogger logger, string cause, string error);

    [LoggerMessage(7, LogLevel.Information, "Redis accepts writes again")]
    public static partial void WritesAccepted(ILogger logger);
}
