using System.Collections.Concurrent;

namespace HubStreams.Streams.Redis;

/// <summary>
/// A question this node asks Redis of the streams its readers watch, only when it is due for a stream: a stream newly
/// watched is asked soon, an append heard puts its next question <c>afterAppend</c> ahead, and each answer says when
/// to ask again (<c>nextCheck</c>). Every <see cref="Interval"/> the due streams are asked all at once, so a pass costs
/// one round trip however many are due, and a watched stream costs one question per period, whatever its readers. A
/// stream no longer watched is forgotten. Used for stream expiry (<see cref="StreamExpiryChecks"/>) and producer leases
/// (<see cref="ProducerLeaseChecks"/>).
/// </summary>
internal sealed class WatchedStreamChecks<TAnswer>(
    TimeSpan interval,
    TimeSpan afterAppend,
    TimeProvider time,
    Func<StreamKey, bool> isWatched,
    Func<StreamKey, Task<TAnswer>> ask,
    Func<TAnswer, DateTimeOffset, DateTimeOffset> nextCheck,
    Action<StreamKey, TAnswer>? answered = null)
{
    // When each stream's question is due, in UTC ticks: a value the dictionary can change in place, so the update that
    // each append heard makes allocates nothing.
    private readonly ConcurrentDictionary<StreamKey, long> _checkAt = new();
    private long _answers;

    /// <summary>How many answers were taken so far.</summary>
    internal long Answers => Volatile.Read(ref _answers);

    /// <summary>How often the node looks for streams whose question is due.</summary>
    public TimeSpan Interval { get; } = interval;

    /// <summary>A reader started watching <paramref name="key"/>: nothing is known of it yet, so it is asked soon.</summary>
    public void Watched(StreamKey key) => _checkAt[key] = time.GetUtcNow().UtcTicks;

    /// <summary>An append to <paramref name="key"/> was heard: its next question is <c>afterAppend</c> from now.</summary>
    public void Appended(StreamKey key)
    {
        if (_checkAt.ContainsKey(key))
        {
            _checkAt[key] = (time.GetUtcNow() + afterAppend).UtcTicks;
        }
    }

    /// <summary>Asks, every <see cref="Interval"/>, the watched streams whose question is due, until <paramref name="stopping"/>.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                await CheckDueAsync();
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Disposed.
        }
    }

    /// <summary>One pass: asks every watched stream whose question is due, all at once.</summary>
    internal async Task CheckDueAsync()
    {
        var now = time.GetUtcNow();
        var due = new List<(StreamKey Key, long At)>();
        foreach (var entry in _checkAt)
        {
            if (!isWatched(entry.Key))
            {
                // Removed only if no watch came meanwhile (a new watch sets a new time).
                _checkAt.TryRemove(entry);
            }
            else if (entry.Value <= now.UtcTicks)
            {
                due.Add((entry.Key, entry.Value));
            }
        }

        var answers = due.Select(d => (d.Key, d.At, Answer: ask(d.Key))).ToList();
        foreach (var (key, at, pending) in answers)
        {
            TAnswer answer;
            try
            {
                answer = await pending;
            }
            catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException or StreamException)
            {
                // Redis is away: asked again at the next pass.
                continue;
            }

            // Taken only if nothing newer came while the answer travelled (an append heard since puts the question later).
            if (_checkAt.TryUpdate(key, nextCheck(answer, now).UtcTicks, at))
            {
                answered?.Invoke(key, answer);
                Interlocked.Increment(ref _answers);
            }
        }
    }
}
