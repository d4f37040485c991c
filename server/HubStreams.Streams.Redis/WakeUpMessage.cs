using System.Text;

namespace HubStreams.Streams.Redis;

/// <summary>
/// A wake-up the append script published: <c>{sessionId}:{messageId}:{length}</c>, the stream's new length, and when
/// the events that call stored fit the script's byte budget, <c>:{identity}</c> and each of those events' JSON on a
/// line of its own (the last ones of the stream, ending at <see cref="Length"/>); or <c>{sessionId}:{messageId}:gone</c>,
/// which the delete script publishes to send the stream's readers to read again. Ids never contain ':' and stored JSON
/// never contains a line break.
/// </summary>
internal sealed class WakeUpMessage
{
    private readonly ReadOnlyMemory<byte> _carried;
    private StreamEvent[]? _events;

    private WakeUpMessage(StreamKey key, long length, string? streamId, ReadOnlyMemory<byte> carried, bool gone = false)
    {
        Gone = gone;
        Key = key;
        Length = length;
        StreamId = streamId;
        _carried = carried;
    }

    public StreamKey Key { get; }

    /// <summary>The stream is gone (deleted): its readers read again, and learn why.</summary>
    public bool Gone { get; }

    /// <summary>How many events the stream holds now.</summary>
    public long Length { get; }

    /// <summary>The stream's identity, when the wake-up carries events.</summary>
    public string? StreamId { get; }

    /// <summary>The events carried (none for a bare wake-up), decoded once, on first use, for every reader of this node.</summary>
    public StreamEvent[] Events => _events ??= Decode();

    /// <summary>The offset of the first event carried, or <see cref="Length"/> when none is.</summary>
    public long FirstCarriedOffset => Length - CarriedCount;

    private int CarriedCount => _carried.IsEmpty ? 0 : _carried.Span.Count((byte)'\n') + 1;

    /// <summary>The last part of a wake-up that says the stream is gone.</summary>
    public const string GoneMark = "gone";

    /// <summary>
    /// Reads a wake-up; null when it is not one. With <paramref name="subscribed"/>, the stream whose channel it came on,
    /// its ids must be that stream's, and they are compared as they are rather than made into strings.
    /// </summary>
    public static WakeUpMessage? Parse(ReadOnlyMemory<byte> message, StreamKey? subscribed = null)
    {
        var span = message.Span;
        var lineEnd = span.IndexOf((byte)'\n');
        var header = lineEnd < 0 ? span : span[..lineEnd];
        var carried = lineEnd < 0 ? ReadOnlyMemory<byte>.Empty : message[(lineEnd + 1)..];

        // sessionId:messageId:length[:identity], read from the bytes: ids and the identity are made strings, nothing else.
        var first = header.IndexOf((byte)':');
        var second = first < 0 ? -1 : header[(first + 1)..].IndexOf((byte)':');
        if (second < 0)
        {
            return null;
        }

        second += first + 1;
        var rest = header[(second + 1)..];
        var third = rest.IndexOf((byte)':');
        var lengthText = third < 0 ? rest : rest[..third];
        StreamKey key;
        if (subscribed is { } known)
        {
            if (!Ascii.Equals(header[..first], known.SessionId) || !Ascii.Equals(header[(first + 1)..second], known.MessageId))
            {
                return null;
            }

            key = known;
        }
        else
        {
            var sessionId = Encoding.UTF8.GetString(header[..first]);
            var messageId = Encoding.UTF8.GetString(header[(first + 1)..second]);
            if (!StreamKey.IsValidId(sessionId) || !StreamKey.IsValidId(messageId))
            {
                return null;
            }

            key = StreamKey.Create(sessionId, messageId);
        }

        if (third < 0 && lengthText.SequenceEqual("gone"u8))
        {
            return carried.IsEmpty ? new WakeUpMessage(key, 0, null, carried, gone: true) : null;
        }

        var hasIdentity = third >= 0;
        var identity = hasIdentity ? rest[(third + 1)..] : default;
        if (lengthText.Length == 0 || lengthText[0] is (byte)'-' or (byte)'+'
            || !System.Buffers.Text.Utf8Parser.TryParse(lengthText, out long length, out var consumed) || consumed != lengthText.Length
            || hasIdentity == carried.IsEmpty || identity.IndexOf((byte)':') >= 0)
        {
            return null;
        }

        var wakeUp = new WakeUpMessage(key, length, hasIdentity ? Encoding.UTF8.GetString(identity) : null, carried);
        return wakeUp.CarriedCount <= length ? wakeUp : null;
    }

    /// <summary>
    /// The page a reader at <paramref name="offset"/> would read now, made of the carried events (at most
    /// <paramref name="maxCount"/>), or null when they do not cover that offset.
    /// </summary>
    public StreamPage? PageAt(long offset, int maxCount)
    {
        if (offset < FirstCarriedOffset || offset >= Length)
        {
            return null;
        }

        var events = Events;
        var from = (int)(offset - FirstCarriedOffset);
        var count = Math.Min(events.Length - from, maxCount);
        var next = offset + count;
        return new StreamPage(new ArraySegment<StreamEvent>(events, from, count), next, events[^1].IsComplete)
        {
            ReachedEnd = next == Length,
            Length = Length,
            StreamId = StreamId,
        };
    }

    /// <summary>The page of every event carried, for the node to hold; null for a bare wake-up.</summary>
    public StreamPage? Carried() => PageAt(FirstCarriedOffset, int.MaxValue);

    private StreamEvent[] Decode()
    {
        var events = new StreamEvent[CarriedCount];
        var rest = _carried.Span;
        for (var i = 0; i < events.Length; i++)
        {
            var end = rest.IndexOf((byte)'\n');
            var line = end < 0 ? rest : rest[..end];
            events[i] = StoredEventJson.Decode(line, FirstCarriedOffset + i, StreamId);
            rest = end < 0 ? [] : rest[(end + 1)..];
        }

        return events;
    }
}
