namespace HubStreams.Streams.Redis;

/// <summary>
/// When each stream watched on this node expires, as far as the node knows, so that its waiting readers learn of the
/// expiry within about a second of it rather than at the next safety-net pass. Every append refreshes a stream's TTL,
/// so a wake-up puts its expiry one TTL from now; a stream newly watched is asked its remaining TTL once. Only a
/// stream whose expiry has come is asked again (one <c>PTTL</c>, for all its readers), and one found gone wakes its
/// readers, who read and end with <c>StreamNotFound</c> (readers that never saw it hold anything are waiting for its
/// first event, and are left waiting). An idle stream costs one <c>PTTL</c> per TTL, not one per reader.
/// </summary>
internal static class StreamExpiryChecks
{
    /// <summary>What <c>PTTL</c> answers for a key that does not exist.</summary>
    private const long Gone = -2;

    /// <summary>Past the expiry Redis gave, before asking again: the key may outlive it by a moment.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The checks of streams that live <paramref name="streamTtl"/> after their last append: <paramref name="remainingMilliseconds"/>
    /// asks a stream's <c>PTTL</c>, <paramref name="expired"/> wakes the readers of one found gone.
    /// </summary>
    public static WatchedStreamChecks<long> Create(
        TimeSpan streamTtl, TimeProvider time, Func<StreamKey, bool> isWatched,
        Func<StreamKey, Task<long>> remainingMilliseconds, Action<StreamKey> expired)
    {
        // A TTL of years is checked as if it were one: the dates stay far from their limit.
        var ttl = streamTtl < TimeSpan.FromDays(366) ? streamTtl : TimeSpan.FromDays(366);
        return new WatchedStreamChecks<long>(
            StreamRules.CheckInterval(streamTtl), ttl + Grace, time, isWatched, remainingMilliseconds,
            (milliseconds, now) => milliseconds switch
            {
                // Gone: asked again a TTL later; a stream written again meanwhile is heard of by its wake-up.
                Gone => now + ttl,

                // A list with no expiry (written by another service) is asked again a TTL later.
                < 0 => now + ttl + Grace,
                _ => now + TimeSpan.FromMilliseconds(Math.Min(milliseconds, (long)ttl.TotalMilliseconds)) + Grace,
            },
            // Its readers read again and meet the expiry. An append heard while the answer travelled made the stream
            // anew: then the answer is not taken, and its readers have nothing to learn.
            (key, milliseconds) =>
            {
                if (milliseconds == Gone)
                {
                    expired(key);
                }
            });
    }
}
