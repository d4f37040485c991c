namespace HubStreams.Streams.Watching;

/// <summary>
/// One reader's watch. It keeps the longest length reported since it began, and a request to read again that came
/// while its reader was busy, so nothing reported between two waits is lost. When the store read ahead for the
/// offset this watch waited at, the next read at that offset takes that page instead of asking the store again.
/// </summary>
internal sealed class StreamWatch(StreamWatches owner, StreamKey key) : IStreamWatch
{
    private readonly Lock _lock = new();
    private long _reportedLength = -1;
    private bool _readAgain;
    private long _waitingOffset = -1;
    private TaskCompletionSource? _signal;
    private StreamPage? _readAhead;

    public StreamKey Key { get; } = key;

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

    public Task<StreamPage> ReadAsync(long fromOffset, int maxCount, CancellationToken cancellationToken)
    {
        StreamPage? page;
        lock (_lock)
        {
            (page, _readAhead) = (_readAhead, null);
        }

        return page is not null && page.Events.Count > 0 && page.Events[0].Offset == fromOffset && page.Events.Count <= maxCount
            ? Task.FromResult(page)
            : owner.ReadAsync(Key, fromOffset, maxCount, cancellationToken);
    }

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

    public void Dispose() => owner.Close(this);

    internal bool OnLength(long length, Func<long, StreamPage?>? pageAt)
    {
        TaskCompletionSource? signal = null;
        lock (_lock)
        {
            _reportedLength = Math.Max(_reportedLength, length);
            if (_signal is not null && _waitingOffset < length)
            {
                (signal, _signal) = (_signal, null);
                _readAhead = pageAt?.Invoke(_waitingOffset);
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
            _readAhead = null;
        }

        return signal?.TrySetResult() ?? false;
    }
}
