namespace HubStreams.Streams;

/// <summary>
/// A reader's watch on one stream, from <see cref="IStreamManager.WatchAsync"/>. Every append made after the
/// watch began is noticed, so a reader that watches first and reads second never misses one: it reads what
/// is stored, then waits here for what comes next. No polling: appends wake the watch. Dispose it when done.
/// </summary>
public interface IStreamWatch : IDisposable
{
    /// <summary>
    /// Reads up to <paramref name="maxCount"/> events from <paramref name="fromOffset"/>, as
    /// <see cref="IStreamManager.ReadAsync"/> does; a store may answer from a read it already made for the
    /// watches of this stream.
    /// </summary>
    /// <exception cref="StreamException">As <see cref="IStreamManager.ReadAsync"/>.</exception>
    Task<StreamPage> ReadAsync(long fromOffset, int maxCount, CancellationToken cancellationToken);

    /// <summary>
    /// Completes when the stream may hold an event at <paramref name="offset"/> (it grew past it since the watch
    /// began), or when the store asks its readers to read again (it expired, or a notification may have been
    /// lost). Then read. A wake-up with nothing new is possible and harmless. Do not wait past the
    /// <c>complete</c> event: nothing follows it.
    /// </summary>
    ValueTask WaitAsync(long offset, CancellationToken cancellationToken);
}
