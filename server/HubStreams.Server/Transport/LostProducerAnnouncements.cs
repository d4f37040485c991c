using HubStreams.Streams;

namespace HubStreams.Server.Transport;

/// <summary>
/// Tells a session when the store ended one of its messages because the producer was lost
/// (<see cref="IStreamManager.ProducerLost"/>): the node that stored the end announces it, as a producer's own
/// <c>complete</c> would be.
/// </summary>
internal sealed class LostProducerAnnouncements(IStreamManager streams, StreamAppender appender, ILogger<LostProducerAnnouncements> logger)
    : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        streams.ProducerLost += OnLost;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        streams.ProducerLost -= OnLost;
        return Task.CompletedTask;
    }

    private void OnLost(StreamKey key)
    {
        LostProducerLog.Ended(logger, key.SessionId, key.MessageId);
        _ = appender.AnnounceLostAsync(key);
    }
}

internal static partial class LostProducerLog
{
    [LoggerMessage(1, LogLevel.Warning,
        "Stream {SessionId}/{MessageId} ended: its producer sent nothing and no heartbeat within STREAM_PRODUCER_TIMEOUT (producer_lost)")]
    public static partial void Ended(ILogger logger, string sessionId, string messageId);
}
