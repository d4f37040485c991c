using System.Text;

namespace HubStreams.Streams;

/// <summary>
/// Merges the stored text chunks of a catch-up into runs, so that a reader that joins late gets the answer so far in a
/// few events, not one per token. A run is consecutive events of one text type (<see cref="TextTypes"/>) that carry
/// content and no <c>data</c> and are not <c>done</c>; it becomes one event whose <c>content</c> is theirs joined, whose
/// <see cref="StreamEvent.FirstOffset"/> and <see cref="StreamEvent.Offset"/> are the first and last offsets it covers
/// (resuming at <c>offset + 1</c> stays exact), and whose timestamp is the last one's. Every other event passes as it is,
/// in order, and breaks a run; so does a change of type. A run of one event passes as it is.
/// </summary>
/// <remarks>
/// Feed pages in order with <see cref="Add"/>: the run at the end of a page is held back until the next page says
/// whether it goes on, unless the page reached the end of the stream, when everything is given out.
/// </remarks>
public sealed class StreamCompaction
{
    /// <summary>The event types whose chunks merge: the answer, the reasoning, the reflection.</summary>
    public static readonly IReadOnlySet<string> TextTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        EventTypes.Answer, EventTypes.Thinking, EventTypes.Reflection,
    };

    private readonly List<StreamEvent> _run = [];

    /// <summary>Whether <paramref name="streamEvent"/> may join a run of its type.</summary>
    public static bool IsTextChunk(StreamEvent streamEvent) =>
        streamEvent is { Done: false, Data: null, Content: not null, Type: { } type } && TextTypes.Contains(type);

    /// <summary>The events of one page, compacted on their own: what the HTTP page read and the snapshot give.</summary>
    public static IReadOnlyList<StreamEvent> Compact(IReadOnlyList<StreamEvent> events) => new StreamCompaction().Add(events, last: true);

    /// <summary>
    /// Takes the next page's events and returns those ready to deliver. With <paramref name="last"/> (the page reached
    /// the end of the stream), the run in progress is given out too.
    /// </summary>
    public List<StreamEvent> Add(IReadOnlyList<StreamEvent> events, bool last)
    {
        var ready = new List<StreamEvent>(Math.Min(events.Count, 16));
        foreach (var streamEvent in events)
        {
            if (IsTextChunk(streamEvent) && (_run.Count == 0 || _run[0].Type == streamEvent.Type))
            {
                _run.Add(streamEvent);
                continue;
            }

            Flush(ready);
            if (IsTextChunk(streamEvent))
            {
                _run.Add(streamEvent);
            }
            else
            {
                ready.Add(streamEvent);
            }
        }

        if (last)
        {
            Flush(ready);
        }

        return ready;
    }

    /// <summary>Whether a run is held back, waiting for the next page.</summary>
    public bool Holding => _run.Count > 0;

    private void Flush(List<StreamEvent> ready)
    {
        switch (_run.Count)
        {
            case 0:
                return;
            case 1:
                ready.Add(_run[0]);
                break;
            default:
                var content = new StringBuilder();
                foreach (var chunk in _run)
                {
                    content.Append(chunk.Content);
                }

                ready.Add(_run[^1] with { Id = null, FirstOffset = _run[0].Offset, Content = content.ToString() });
                break;
        }

        _run.Clear();
    }
}
