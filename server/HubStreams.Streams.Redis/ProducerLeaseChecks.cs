using System.Collections.Concurrent;

namespace HubStreams.Streams.Redis;

/// <summary>What <c>end_lost.lua</c> found for one stream.</summary>
internal readonly record struct LeaseCheck(LeaseCheckKind Kind, TimeSpan Left = default)
{
    /// <summary>This call ended the stream: its producer was lost.</summary>
    public static LeaseCheck Ended { get; } = new(LeaseCheckKind.Ended);

    /// <summary>There is no lease to end: none was kept (the original service's list), the stream ended, or it holds nothing.</summary>
    public static LeaseCheck None { get; } = new(LeaseCheckKind.None);
}

/// <summary>The kinds of <see cref="LeaseCheck"/>.</summary>
internal enum LeaseCheckKind
{
    /// <summary>Ended now.</summary>
    Ended,

    /// <summary>The deadline has not come: <see cref="LeaseCheck.Left"/> says how far it is.</summary>
    Pending,

    /// <summary>Nothing to end.</summary>
    None,
}

/// <summary>
/// Whether the producers of the streams this node's readers watch are still there, asked only when a deadline may have
/// passed: an append heard puts a stream's next check one producer timeout ahead, a check that finds the deadline later
/// (a heartbeat moved it, on any node) puts it there, and a stream found with no lease is not asked again until an
/// append is heard. A stream newly watched is asked once, soon. So a watched stream costs one script call per producer
/// timeout at most, whatever its readers, and an idle stream of the original service none. A check whose deadline passed
/// ends the stream (the script is atomic, so of several nodes asking at once one ends it); its readers hear of the end
/// from its wake-up.
/// </summary>
internal sealed class ProducerLeaseChecks(
    TimeSpan timeout,
    TimeProvider time,
    Func<StreamKey, bool> isWatched,
    Func<StreamKey, Task<LeaseCheck>> check)
{
    /// <summary>Past a deadline, before asking: Redis's clock and this node's may differ by a moment.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(50);

    private readonly ConcurrentDictionary<StreamKey, DateTimeOffset> _checkAt = new();

    /// <summary>How often the node looks for streams whose check is due: a quarter of the timeout, from 50 ms to a second.</summary>
    public TimeSpan Interval { get; } = Memory.MemoryStreamManager.LeaseCheckInterval(timeout);

    /// <summary>A reader started watching <paramref name="key"/>: whether its producer is there is not known yet.</summary>
    public void Watched(StreamKey key) => _checkAt.TryAdd(key, time.GetUtcNow());

    /// <summary>An append to <paramref name="key"/> was heard: its producer's deadline is a timeout from now, or later.</summary>
    public void Appended(StreamKey key)
    {
        if (_checkAt.ContainsKey(key))
        {
            _checkAt[key] = time.GetUtcNow() + timeout + Grace;
        }
    }

    /// <summary>Checks, every <see cref="Interval"/>, the watched streams whose check is due, until <paramref name="stopping"/>.</summary>
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

    /// <summary>One pass: checks every watched stream whose check is due, all at once.</summary>
    internal async Task CheckDueAsync()
    {
        var now = time.GetUtcNow();
        var due = new List<(StreamKey Key, DateTimeOffset At)>();
        foreach (var entry in _checkAt)
        {
            if (!isWatched(entry.Key))
            {
                _checkAt.TryRemove(entry);
            }
            else if (entry.Value <= now)
            {
                due.Add((entry.Key, entry.Value));
            }
        }

        // Sent together, so the pass costs one round trip however many streams are due.
        var answers = due.Select(d => (d.Key, d.At, Answer: check(d.Key))).ToList();
        foreach (var (key, at, answer) in answers)
        {
            LeaseCheck found;
            try
            {
                found = await answer;
            }
            catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException or StreamException)
            {
                // Redis is away: asked again at the next pass.
                continue;
            }

            // Each is set only if nothing newer came meanwhile (an append heard since puts the check later).
            var next = found.Kind == LeaseCheckKind.Pending ? now + found.Left + Grace : DateTimeOffset.MaxValue;
            _checkAt.TryUpdate(key, next, at);
        }
    }
}
