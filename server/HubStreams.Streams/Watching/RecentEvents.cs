namespace HubStreams.Streams.Watching;

/// <summary>
/// The newest events of one stream that this node has seen (carried by a wake-up, or read), kept while the stream has
/// watchers: a reader at an offset they cover takes its page from here instead of the store, so the readers of a stream
/// on a node share one copy of each event however far behind each one is. Events never change at an offset, so what is
/// held stays true for the stream it came from; a page of another stream (one lost and created again) starts afresh.
/// </summary>
internal sealed class RecentEvents(int capacity)
{
    private readonly List<StreamEvent> _events = [];
    private long _first;
    private string? _streamId;

    /// <summary>
    /// Adds what <paramref name="page"/> holds around the events already here (wake-ups may be handled out of order),
    /// keeping the newest <c>capacity</c>.
    /// </summary>
    public void Add(StreamPage page)
    {
        if (page.Events.Count == 0 || page.StreamId is null)
        {
            return;
        }

        var pageFirst = page.Events[0].Offset;
        var pageEnd = pageFirst + page.Events.Count;
        var end = _first + _events.Count;
        if (!string.Equals(page.StreamId, _streamId, StringComparison.Ordinal) || pageFirst > end || pageEnd < _first || _events.Count == 0)
        {
            // Another stream, or a gap: what is held no longer joins what comes.
            _events.Clear();
            _first = pageFirst;
            _streamId = page.StreamId;
            end = pageFirst;
        }

        if (pageFirst < _first)
        {
            _events.InsertRange(0, page.Events.Take((int)(_first - pageFirst)));
            _first = pageFirst;
        }

        for (var i = (int)Math.Max(0, end - pageFirst); i < page.Events.Count; i++)
        {
            _events.Add(page.Events[i]);
        }

        if (_events.Count > capacity)
        {
            var drop = _events.Count - capacity;
            _events.RemoveRange(0, drop);
            _first += drop;
        }
    }

    /// <summary>
    /// The page a read at <paramref name="offset"/> would return (at most <paramref name="maxCount"/> events), when the
    /// events held cover that offset; <paramref name="length"/> is the stream's length as this node knows it.
    /// </summary>
    public StreamPage? PageAt(long offset, int maxCount, long length)
    {
        var end = _first + _events.Count;
        if (offset < _first || offset >= end)
        {
            return null;
        }

        var events = _events.GetRange((int)(offset - _first), (int)Math.Min(maxCount, end - offset));
        var next = offset + events.Count;
        var last = _events[^1];
        return new StreamPage(events, next, last.IsComplete)
        {
            ReachedEnd = next >= length,
            Length = Math.Max(length, end),
            StreamId = _streamId,
        };
    }

    /// <summary>Whether the events held are of stream <paramref name="streamId"/> and reach up to <paramref name="length"/>.</summary>
    public bool Reaches(long length, string? streamId) =>
        streamId is not null && _events.Count > 0 && string.Equals(streamId, _streamId, StringComparison.Ordinal) && _first + _events.Count >= length;

    public void Clear()
    {
        _events.Clear();
        _streamId = null;
    }
}
