namespace HubStreams.Streams;

/// <summary>
/// A reader's watch on one stream, from <see cref="IStreamManager.WatchAsync"/>. Every append made after the
/// watch began is noticed, so a reader that watches first and reads second never misses one: it reads what
/// is stored, then waits here for what comes next. No polling: appends wake the watch. Dispose it when done.
/// </summary>
public interface IStreamWatch : IDisposable
{
    /// <summary>
    /// Completes when the stream may hold an event at <paramref name="offset"/> (it grew past it since the watch
    /// began), or when the store asks its readers to read again (it expired, or a notification may have been
    /// lost). The result is a page the store already read from <paramref name="offset"/> for its waiting
    /// readers, or null: then read it. A wake-up with nothing new is possible and harmless. Do not wait past
    /// the <c>complete</c> event: nothing follows it.
    /// </summary>
    ValueTask<StreamPage?> WaitAsync(long offset, CancellationToken cancellationToken);
}
