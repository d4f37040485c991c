using Microsoft.Extensions.Logging;

namespace HubStreams.Streams.Redis;

public sealed partial class RedisStreamManager
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Redis operation on stream {Stream} failed: {ErrorType}: {Error}")]
        public static partial void RedisOperationFailed(ILogger logger, string stream, string errorType, string error);

        [LoggerMessage(2, LogLevel.Information, "Redis {ConnectionType} connection restored; {Watches} open watches read again")]
        public static partial void ConnectionRestored(ILogger logger, string connectionType, int watches);

        [LoggerMessage(3, LogLevel.Warning, "Safety-net check of waited streams failed: {ErrorType}")]
        public static partial void SafetyNetCheckFailed(ILogger logger, string errorType);

        [LoggerMessage(4, LogLevel.Information, "Redis {Version}: wake-ups per stream by {Publishing}")]
        public static partial void WakeUpPublishing(ILogger logger, string publishing, string version);

        [LoggerMessage(5, LogLevel.Warning, "Redis refused sharded pub/sub ({Error}); wake-ups use classic pub/sub")]
        public static partial void ShardedPubSubRefused(ILogger logger, string error);
    }
}
