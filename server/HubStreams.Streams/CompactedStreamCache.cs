namespace HubStreams.Streams;

/// <summary>
/// The compacted events of completed streams that readers caught up on through this node, so that the next late joiner
/// of the same answer (another tab, a reload, a second viewer) gets them without the store giving out every event again.
/// A completed stream never changes, so what its compacted catch-up delivered stays true for as long as the stream is
/// the same one: a reader served from here is served only after a read at the stream's end finds it completed, of the
/// same length and identity (a stream deleted, expired or created again is read afresh). Bounded by bytes; the
/// streams read least recently go first.
/// </summary>
public sealed class CompactedStreamCache
{
    private readonly Lock _lock = new();
    private readonly Dictionary<StreamKey, LinkedListNode<Entry>> _entries = [];
    private readonly LinkedList<Entry> _recent = [];
    private long _bytes;

    /// <summary>A cache that holds at most <paramref name="budgetBytes"/> of events, as <see cref="SizeOf"/> counts them; 0 keeps nothing.</summary>
    public CompactedStreamCache(long budgetBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(budgetBytes);
        BudgetBytes = budgetBytes;
    }

    /// <summary>
    /// The budget a node takes by default: a 32nd of the memory the GC may use (its heap hard limit, or the container's
    /// or machine's memory), at most 64 MiB.
    /// </summary>
    public static long DefaultBudget() => Math.Min(64L << 20, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 32);

    /// <summary>The most bytes held.</summary>
    public long BudgetBytes { get; }

    /// <summary>The bytes held now.</summary>
    public long BytesHeld
    {
        get
        {
            lock (_lock)
            {
                return _bytes;
            }
        }
    }

    /// <summary>A completed stream's compacted events, from offset 0 to its <see cref="Length"/>.</summary>
    /// <param name="Key">The stream.</param>
    /// <param name="StreamId">The stream's identity when it was read.</param>
    /// <param name="Length">How many events it held: its last (<c>complete</c>) is at <c>Length - 1</c>.</param>
    /// <param name="Events">Its events compacted, the last one <c>complete</c>.</param>
    public sealed record Entry(StreamKey Key, string StreamId, long Length, IReadOnlyList<StreamEvent> Events)
    {
        internal long Bytes { get; } = Events.Sum(SizeOf);
    }

    /// <summary>
    /// The events <paramref name="key"/>'s compacted catch-up from <paramref name="fromOffset"/> delivers, when it is held
    /// and <paramref name="fromOffset"/> is where one of its events begins (a reader that resumes inside a merged run is
    /// read from the store). Check the stream is still <see cref="Entry.StreamId"/> at <see cref="Entry.Length"/> first.
    /// </summary>
    public (Entry Entry, IReadOnlyList<StreamEvent> Events)? Find(StreamKey key, long fromOffset)
    {
        Entry entry;
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var node))
            {
                return null;
            }

            _recent.Remove(node);
            _recent.AddFirst(node);
            entry = node.Value;
        }

        var events = entry.Events;
        var at = fromOffset == 0 ? 0 : BinarySearchStart(events, fromOffset);
        return at < 0 ? null : (entry, at == 0 ? events : events.Skip(at).ToArray());
    }

    /// <summary>
    /// Whether <paramref name="end"/>, a read of the stream at <see cref="Entry.Length"/>, finds it the stream
    /// <paramref name="entry"/> holds: completed, of that length and identity. Otherwise the entry is dropped.
    /// </summary>
    public bool StillHolds(Entry entry, StreamPage end)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(end);
        if (end.Finished && end.Length == entry.Length && end.StreamId == entry.StreamId)
        {
            return true;
        }

        Forget(entry.Key);
        return false;
    }

    /// <summary>
    /// Keeps <paramref name="entry"/>, unless it alone would take more than an eighth of the budget (one long answer does
    /// not push out every other), making room by dropping the streams read least recently.
    /// </summary>
    public void Remember(Entry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Bytes > BudgetBytes / 8)
        {
            return;
        }

        lock (_lock)
        {
            RemoveLocked(entry.Key);
            _entries[entry.Key] = _recent.AddFirst(entry);
            _bytes += entry.Bytes;
            while (_bytes > BudgetBytes && _recent.Last is { } oldest)
            {
                RemoveLocked(oldest.Value.Key);
            }
        }
    }

    /// <summary>Drops what is held of <paramref name="key"/>: it is no longer the stream it was.</summary>
    public void Forget(StreamKey key)
    {
        lock (_lock)
        {
            RemoveLocked(key);
        }
    }

    /// <summary>What an event is counted as: its strings (two bytes a character), its data's JSON, and a fixed overhead.</summary>
    public static long SizeOf(StreamEvent streamEvent)
    {
        ArgumentNullException.ThrowIfNull(streamEvent);
        var characters = (streamEvent.Content?.Length ?? 0) + (streamEvent.Type?.Length ?? 0) + (streamEvent.Id?.Length ?? 0)
            + (streamEvent.StreamId?.Length ?? 0) + (streamEvent.Data is { } data ? data.GetRawText().Length : 0);
        return 128 + 2L * characters;
    }

    private void RemoveLocked(StreamKey key)
    {
        if (_entries.Remove(key, out var node))
        {
            _recent.Remove(node);
            _bytes -= node.Value.Bytes;
        }
    }

    // The index of the event that begins at offset, or -1 when none does. Events are in offset order.
    private static int BinarySearchStart(IReadOnlyList<StreamEvent> events, long offset)
    {
        var (low, high) = (0, events.Count - 1);
        while (low <= high)
        {
            var middle = (low + high) / 2;
            var start = events[middle].FirstOffset ?? events[middle].Offset;
            if (start == offset)
            {
                return middle;
            }

            if (start < offset)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return -1;
    }
}
