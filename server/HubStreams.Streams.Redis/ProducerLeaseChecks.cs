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
internal static class ProducerLeaseChecks
{
    /// <summary>Past a deadline, before asking: Redis's clock and this node's may differ by a moment.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(50);

    /// <summary>The checks of leases that last <paramref name="timeout"/>, made by <paramref name="check"/> (<c>end_lost.lua</c>).</summary>
    public static WatchedStreamChecks<LeaseCheck> Create(
        TimeSpan timeout, TimeProvider time, Func<StreamKey, bool> isWatched, Func<StreamKey, Task<LeaseCheck>> check) =>
        new(StreamRules.CheckInterval(timeout), timeout + Grace, time, isWatched, check,
            static (found, now) => found.Kind == LeaseCheckKind.Pending ? now + found.Left + Grace : DateTimeOffset.MaxValue);
}
