using System.Threading.Tasks.Sources;

namespace HubStreams.Streams.Watching;

/// <summary>
/// One reader's watch of a <see cref="WatchedStream"/>. It keeps the longest length reported since it began, and a
/// request to read again that came while its reader was busy, so nothing reported between two waits is lost. Its reads
/// go through the stream's object, which answers from what the node holds when it can.
/// </summary>
/// <remarks>
/// A reader waits here once per event it follows live, so the wait allocates nothing: one reusable value-task source
/// serves every wait of the watch (a reader waits once at a time), where a task per wait and a cancellable wrapper of it
/// cost two objects and a registration each. Whoever ends a wait with an append may run the reader's continuation on its
/// own thread (<see cref="ResumeHere"/>): one hop less per event when the caller is a thread-pool thread with nothing else
/// to do first.
/// </remarks>
internal sealed class StreamWatch(StreamWatches owner, WatchedStream stream) : IStreamWatch, IValueTaskSource
{
    private readonly Lock _lock = new();
    private ManualResetValueTaskSourceCore<bool> _wait;
    private CancellationTokenRegistration _cancellation;
    private long _reportedLength = -1;
    private bool _readAgain;
    private long _waitingOffset = -1;
    private bool _waiting;
    private int _disposed;

    public WatchedStream Stream { get; } = stream;

    /// <summary>The offset this watch waits for, or null while its reader is busy.</summary>
    public long? WaitingOffset
    {
        get
        {
            lock (_lock)
            {
                return _waiting ? _waitingOffset : null;
            }
        }
    }

    public Task<StreamPage> ReadAsync(long fromOffset, int maxCount, CancellationToken cancellationToken) =>
        Stream.ReadAsync(fromOffset, maxCount, cancellationToken);

    public ValueTask WaitAsync(long offset, CancellationToken cancellationToken)
    {
        short version;
        lock (_lock)
        {
            if (_readAgain || _reportedLength > offset)
            {
                _readAgain = false;
                return default;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled(cancellationToken);
            }

            _wait.Reset();
            version = _wait.Version;
            _waitingOffset = offset;
            _waiting = true;
        }

        // Registered outside the lock: a token cancelled meanwhile runs the callback here, which takes the lock.
        _cancellation = cancellationToken.UnsafeRegister(static (state, token) => ((StreamWatch)state!).OnCancelled(token), this);
        return new ValueTask(this, version);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            owner.Close(this);
        }
    }

    /// <summary>The stream holds <paramref name="length"/> events: a wait below that ends, its reader queued to the thread pool.</summary>
    /// <returns>Whether a waiting reader woke.</returns>
    internal bool OnLength(long length)
    {
        if (!TryEndWait(length))
        {
            return false;
        }

        End(runReaderHere: false, error: null);
        return true;
    }

    /// <summary>
    /// As <see cref="OnLength"/>, but a reader whose wait ends is not resumed yet: when this returns true, the caller
    /// must call <see cref="ResumeHere"/>.
    /// </summary>
    internal bool TryEndWait(long length)
    {
        lock (_lock)
        {
            _reportedLength = Math.Max(_reportedLength, length);
            if (!_waiting || _waitingOffset >= length)
            {
                return false;
            }

            _waiting = false;
            return true;
        }
    }

    /// <summary>
    /// Runs the reader whose wait <see cref="TryEndWait"/> ended on this thread, before this returns: the caller holds no
    /// lock and has nothing left that is more urgent.
    /// </summary>
    internal void ResumeHere() => End(runReaderHere: true, error: null);

    internal bool OnReadAgain()
    {
        lock (_lock)
        {
            if (!_waiting)
            {
                _readAgain = true;
                return false;
            }

            _waiting = false;
        }

        End(runReaderHere: false, error: null);
        return true;
    }

    private void OnCancelled(CancellationToken token)
    {
        lock (_lock)
        {
            if (!_waiting)
            {
                return;
            }

            _waiting = false;
        }

        End(runReaderHere: false, new OperationCanceledException(token));
    }

    // Only the one that set _waiting to false comes here, once per wait: it owns the wait's source until it completes it.
    private void End(bool runReaderHere, Exception? error)
    {
        _wait.RunContinuationsAsynchronously = !runReaderHere;
        if (error is null)
        {
            _wait.SetResult(true);
        }
        else
        {
            _wait.SetException(error);
        }
    }

    void IValueTaskSource.GetResult(short token)
    {
        // The wait is over, whoever ended it: its registration goes, without waiting for a callback that may be running.
        _cancellation.Unregister();
        _wait.GetResult(token);
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _wait.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _wait.OnCompleted(continuation, state, token, flags);
}
