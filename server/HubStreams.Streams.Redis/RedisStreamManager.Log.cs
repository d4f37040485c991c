using Microsoft.Extensions.Logging;

namespace HubStreams.Streams.Redis;

public sealed partial class RedisStreamManager
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Redis operation on stream {SessionId}/{MessageId} failed: {ErrorType}: {Error}")]
        public static partial void RedisOperationFailed(ILogger logger, string sessionId, string messageId, string errorType, string error);

        [LoggerMessage(2, LogLevel.Information, "Redis {ConnectionType} connection restored; {Watches} open watches read again")]
        public static partial void ConnectionRestored(ILogger logger, string connectionType, int watches);

        [LoggerMessage(3, LogLevel.Warning, "Safety-net check of waited streams failed: {ErrorType}")]
        public static partial void SafetyNetCheckFailed(ILogger logger, string errorType);
    }
}
