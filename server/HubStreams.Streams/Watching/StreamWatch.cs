namespace HubStreams.Streams.Watching;

/// <summary>
/// One reader's watch of a <see cref="WatchedStream"/>. It keeps the longest length reported since it began, and a
/// request to read again that came while its reader was busy, so nothing reported between two waits is lost. Its reads
/// go through the stream's object, which answers from what the node holds when it can.
/// </summary>
internal sealed class StreamWatch(StreamWatches owner, WatchedStream stream) : IStreamWatch
{
    private readonly Lock _lock = new();
    private long _reportedLength = -1;
    private bool _readAgain;
    private long _waitingOffset = -1;
    private TaskCompletionSource? _signal;
    private int _disposed;

    public WatchedStream Stream { get; } = stream;

    /// <summary>The offset this watch waits for, or null while its reader is busy.</summary>
    public long? WaitingOffset
    {
        get
        {
            lock (_lock)
            {
                return _signal is null ? null : _waitingOffset;
            }
        }
    }

    public Task<StreamPage> ReadAsync(long fromOffset, int maxCount, CancellationToken cancellationToken) =>
        Stream.ReadAsync(fromOffset, maxCount, cancellationToken);

    public async ValueTask WaitAsync(long offset, CancellationToken cancellationToken)
    {
        TaskCompletionSource signal;
        lock (_lock)
        {
            if (_readAgain || _reportedLength > offset)
            {
                _readAgain = false;
                return;
            }

            _waitingOffset = offset;
            signal = _signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        try
        {
            await signal.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            lock (_lock)
            {
                if (ReferenceEquals(_signal, signal))
                {
                    _signal = null;
                }
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            owner.Close(this);
        }
    }

    internal bool OnLength(long length)
    {
        TaskCompletionSource? signal = null;
        lock (_lock)
        {
            _reportedLength = Math.Max(_reportedLength, length);
            if (_signal is not null && _waitingOffset < length)
            {
                (signal, _signal) = (_signal, null);
            }
        }

        return signal?.TrySetResult() ?? false;
    }

    internal bool OnReadAgain()
    {
        TaskCompletionSource? signal;
        lock (_lock)
        {
            (signal, _signal) = (_signal, null);
            _readAgain = signal is null;
        }

        return signal?.TrySetResult() ?? false;
    }
}
