namespace HubStreams.Streams;

/// <summary>Limits and lifetime that every stream manager enforces, whatever its store.</summary>
public sealed class StreamOptions
{
    /// <summary>The default lifetime of a stream after its last append: one hour.</summary>
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromHours(1);

    /// <summary>The default maximum number of events in one stream.</summary>
    public const int DefaultMaxEvents = 100_000;

    /// <summary>The default maximum size of one event's JSON, in bytes.</summary>
    public const int DefaultMaxEventBytes = 65_536;

    /// <summary>The smallest event size limit accepted: room for a <c>complete</c> event with a timestamp.</summary>
    public const int MinMaxEventBytes = 256;

    /// <summary>The default maximum number of events one read returns.</summary>
    public const int DefaultMaxPageEvents = 1000;

    /// <summary>The default maximum size of one read, in bytes of stored JSON: 1 MiB.</summary>
    public const int DefaultMaxPageBytes = 1024 * 1024;

    private TimeSpan _ttl = DefaultTtl;
    private int _maxPageEvents = DefaultMaxPageEvents;
    private int _maxPageBytes = DefaultMaxPageBytes;
    private int _maxEvents = DefaultMaxEvents;
    private int _maxEventBytes = DefaultMaxEventBytes;

    /// <summary>
    /// How long a stream lives after its last append (<c>STREAM_TTL</c>); the whole stream then expires.
    /// At least one millisecond; default one hour.
    /// </summary>
    public TimeSpan Ttl
    {
        get => _ttl;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.FromMilliseconds(1));
            _ttl = value;
        }
    }

    /// <summary>
    /// The maximum number of events in one stream (<c>STREAM_MAX_EVENTS</c>), <c>complete</c> included.
    /// The last place is kept for <c>complete</c>, so a full stream can always be ended. At least 2; default 100,000.
    /// </summary>
    public int MaxEvents
    {
        get => _maxEvents;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 2);
            _maxEvents = value;
        }
    }

    /// <summary>
    /// The maximum size in bytes of one event's stored JSON (<c>STREAM_MAX_EVENT_BYTES</c>).
    /// At least <see cref="MinMaxEventBytes"/>; default 65,536.
    /// </summary>
    public int MaxEventBytes
    {
        get => _maxEventBytes;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, MinMaxEventBytes);
            _maxEventBytes = value;
        }
    }

    /// <summary>
    /// The most events one read returns (<c>STREAM_MAX_PAGE_EVENTS</c>), whatever a client asks for: an HTTP page's
    /// <c>limit</c>, and each read behind the hub and SSE. At least 1; default 1,000.
    /// </summary>
    public int MaxPageEvents
    {
        get => _maxPageEvents;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _maxPageEvents = value;
        }
    }

    /// <summary>
    /// The most bytes of stored JSON one read returns (<c>STREAM_MAX_PAGE_BYTES</c>); a read always returns at least one
    /// event, so a page is at most this or one event, whichever is larger. At least 1,024; default 1 MiB.
    /// </summary>
    public int MaxPageBytes
    {
        get => _maxPageBytes;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1024);
            _maxPageBytes = value;
        }
    }
}
