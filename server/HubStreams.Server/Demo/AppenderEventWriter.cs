using HubStreams.Server.Transport;
using HubStreams.Streams;

namespace HubStreams.Server.Demo;

/// <summary>A producer inside the server writes through the same appender as every transport.</summary>
internal sealed class AppenderEventWriter(StreamAppender appender, StreamKey key, CancellationToken stopRequested) : IStreamEventWriter
{
    public CancellationToken StopRequested => stopRequested;

    public Task<long> AppendAsync(StreamEvent streamEvent, CancellationToken cancellationToken = default) =>
        appender.AppendAsync(key, streamEvent, cancellationToken);
}
