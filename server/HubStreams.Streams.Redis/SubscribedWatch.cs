namespace HubStreams.Streams.Redis;

/// <summary>A watch that holds its stream's wake-up subscription: disposing it lets the subscription go.</summary>
internal sealed class SubscribedWatch(IStreamWatch watch, Action release) : IStreamWatch
{
    private int _disposed;

    public Task<StreamPage> ReadAsync(long fromOffset, int maxCount, CancellationToken cancellationToken) =>
        watch.ReadAsync(fromOffset, maxCount, cancellationToken);

    public ValueTask WaitAsync(long offset, CancellationToken cancellationToken) => watch.WaitAsync(offset, cancellationToken);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            watch.Dispose();
            release();
        }
    }
}
