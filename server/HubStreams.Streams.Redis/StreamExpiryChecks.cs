using System.Collections.Concurrent;

namespace HubStreams.Streams.Redis;

/// <summary>
/// When each stream watched on this node expires, as far as the node knows, so that its waiting readers learn of the
/// expiry within about a second of it rather than at the next safety-net pass. Every append refreshes a stream's TTL,
/// so a wake-up puts its expiry one TTL from now; a stream newly watched is asked its remaining TTL once. Only a
/// stream whose expiry has come is asked again (one <c>PTTL</c>, for all its readers), and one found gone wakes its
/// readers, who read and end with <c>StreamNotFound</c>. An idle stream costs one <c>PTTL</c> per TTL, not one per reader.
/// </summary>
internal sealed class StreamExpiryChecks(
    TimeSpan streamTtl,
    TimeProvider time,
    Func<StreamKey, bool> isWatched,
    Func<StreamKey, Task<long>> remainingMilliseconds,
    Action<StreamKey> expired)
{
    // A TTL of years is checked as if it were one: the dates stay far from their limit.
    private readonly TimeSpan ttl = streamTtl < TimeSpan.FromDays(366) ? streamTtl : TimeSpan.FromDays(366);

    /// <summary>What <c>PTTL</c> answers for a key that does not exist.</summary>
    private const long Gone = -2;

    /// <summary>Past the expiry Redis gave, before asking again: the key may outlive it by a moment.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<StreamKey, DateTimeOffset> _checkAt = new();

    /// <summary>How often the node looks for streams whose expiry has come: a second, or a quarter of a shorter TTL.</summary>
    public TimeSpan Interval { get; } = TimeSpan.FromTicks(Math.Clamp(streamTtl.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(1).Ticks));

    /// <summary>A reader started watching <paramref name="key"/>: when the stream expires is not known yet, so ask soon.</summary>
    public void Watched(StreamKey key) => _checkAt[key] = time.GetUtcNow();

    /// <summary>An append to <paramref name="key"/> was heard: it refreshed the stream's TTL.</summary>
    public void Appended(StreamKey key)
    {
        if (_checkAt.ContainsKey(key))
        {
            _checkAt[key] = time.GetUtcNow() + ttl + Grace;
        }
    }

    /// <summary>Checks, every <see cref="Interval"/>, the watched streams whose expiry has come, until <paramref name="stopping"/>.</summary>
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

    /// <summary>One pass: asks the remaining TTL of each watched stream whose expiry has come, all at once.</summary>
    internal async Task CheckDueAsync()
    {
        var now = time.GetUtcNow();
        var due = new List<(StreamKey Key, DateTimeOffset At)>();
        foreach (var entry in _checkAt)
        {
            if (!isWatched(entry.Key))
            {
                // Removed only if no watch came meanwhile (a new watch sets a new time).
                _checkAt.TryRemove(entry);
            }
            else if (entry.Value <= now)
            {
                due.Add((entry.Key, entry.Value));
            }
        }

        // Sent together, so the pass costs one round trip however many streams are due.
        var answers = due.Select(d => (d.Key, d.At, Remaining: remainingMilliseconds(d.Key))).ToList();
        foreach (var (key, at, remaining) in answers)
        {
            long milliseconds;
            try
            {
                milliseconds = await remaining;
            }
            catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException or StreamException)
            {
                // Redis is away: asked again at the next pass; a restored connection wakes every reader anyway.
                continue;
            }

            // Each is set only if nothing newer came meanwhile (an append heard since puts the stream's expiry later).
            if (milliseconds == Gone)
            {
                // Its readers read again and meet the expiry; a stream written again later is heard of by its wake-up.
                // An append heard while the answer travelled made the stream anew: its readers have nothing to learn.
                if (_checkAt.TryUpdate(key, now + ttl, at))
                {
                    expired(key);
                }
            }
            else
            {
                // A list with no expiry (written by another service) is asked again a TTL later.
                var left = milliseconds < 0 ? ttl : TimeSpan.FromMilliseconds(Math.Min(milliseconds, (long)ttl.TotalMilliseconds));
                _checkAt.TryUpdate(key, now + left + Grace, at);
            }
        }
    }
}
