namespace HubStreams.Streams;

/// <summary>Limits and lifetime that every stream manager enforces, whatever its store.</summary>
public sealed class StreamOptions
{
    /// <summary>The default lifetime of a stream after its last append: one hour.</summary>
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromHours(1);

    /// <summary>
    /// The default producer timeout: five minutes, longer than a slow tool call or model turn takes between two events,
    /// while the packaged writers heartbeat every 30 seconds whatever the producer does.
    /// </summary>
    public static readonly TimeSpan DefaultProducerTimeout = TimeSpan.FromMinutes(5);

    /// <summary>The shortest producer timeout accepted, other than 0 (off).</summary>
    public static readonly TimeSpan MinProducerTimeout = TimeSpan.FromMilliseconds(100);

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

    /// <summary>
    /// How long a stream lives after its last append (<c>STREAM_TTL</c>); the whole stream then expires.
    /// At least one millisecond; default one hour.
    /// </summary>
    public TimeSpan Ttl { get; set; } = DefaultTtl;

    /// <summary>
    /// How long a stream being written waits for its producer (<c>STREAM_PRODUCER_TIMEOUT</c>): every append but
    /// <c>complete</c>, and every heartbeat, pushes the producer's deadline to now + this; when it passes, the stream is
    /// ended for good with an <c>error</c> (<c>data.reason: "producer_lost"</c>) and <c>complete</c>
    /// (<see cref="ProducerLeases"/>). <see cref="TimeSpan.Zero"/> turns it off. Default five minutes.
    /// </summary>
    public TimeSpan ProducerTimeout { get; set; } = DefaultProducerTimeout;

    /// <summary>Whether streams have producer leases (<see cref="ProducerTimeout"/> is not 0).</summary>
    public bool LeasesProducers => ProducerTimeout > TimeSpan.Zero;

    /// <summary>
    /// The maximum number of events in one stream (<c>STREAM_MAX_EVENTS</c>), <c>complete</c> included.
    /// The last place is kept for <c>complete</c>, so a full stream can always be ended. At least 2; default 100,000.
    /// </summary>
    public int MaxEvents { get; set; } = DefaultMaxEvents;

    /// <summary>
    /// The maximum size in bytes of one event's stored JSON (<c>STREAM_MAX_EVENT_BYTES</c>).
    /// At least <see cref="MinMaxEventBytes"/>; default 65,536.
    /// </summary>
    public int MaxEventBytes { get; set; } = DefaultMaxEventBytes;

    /// <summary>
    /// The most events one read returns (<c>STREAM_MAX_PAGE_EVENTS</c>), whatever a client asks for: an HTTP page's
    /// <c>limit</c>, and each read behind the hub and SSE. At least 1; default 1,000.
    /// </summary>
    public int MaxPageEvents { get; set; } = DefaultMaxPageEvents;

    /// <summary>
    /// The most bytes of stored JSON one read returns (<c>STREAM_MAX_PAGE_BYTES</c>); a read always returns at least one
    /// event, so a page is at most this or one event, whichever is larger. At least 1,024; default 1 MiB.
    /// </summary>
    public int MaxPageBytes { get; set; } = DefaultMaxPageBytes;

    /// <summary>
    /// The memory store's budget, in bytes (<c>STREAM_MEMORY_LIMIT</c>): what it may hold of events over all its streams,
    /// each event counted as <see cref="Memory.MemoryStreamManager.BytesHeld"/> estimates. Past it appends are refused
    /// with <c>StoreFull</c>, except <c>complete</c>. Null, the default: half the memory the GC may use (its heap hard
    /// limit, or the container's or machine's memory). At least 1 MiB. The Redis store ignores it (Redis has
    /// <c>maxmemory</c>).
    /// </summary>
    public long? MemoryLimit { get; set; }

    /// <summary>The memory store's budget in force: <see cref="MemoryLimit"/>, or half of what the GC may use.</summary>
    public long EffectiveMemoryLimit => MemoryLimit ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;

    /// <summary>The values that break their rules; empty when every value is valid.</summary>
    public IEnumerable<OptionProblem> Problems()
    {
        if (Ttl < TimeSpan.FromMilliseconds(1))
        {
            yield return new(nameof(Ttl), "at least 1 ms");
        }

        if (ProducerTimeout < TimeSpan.Zero || (ProducerTimeout > TimeSpan.Zero && ProducerTimeout < MinProducerTimeout))
        {
            yield return new(nameof(ProducerTimeout), $"0 (off) or at least {MinProducerTimeout.TotalMilliseconds:F0} ms");
        }

        if (MaxEvents < 2)
        {
            yield return new(nameof(MaxEvents), "at least 2");
        }

        if (MaxEventBytes < MinMaxEventBytes)
        {
            yield return new(nameof(MaxEventBytes), $"at least {MinMaxEventBytes}");
        }

        if (MaxPageEvents < 1)
        {
            yield return new(nameof(MaxPageEvents), "at least 1");
        }

        if (MaxPageBytes < 1024)
        {
            yield return new(nameof(MaxPageBytes), "at least 1024");
        }

        if (MemoryLimit < 1024 * 1024)
        {
            yield return new(nameof(MemoryLimit), "at least 1 MiB");
        }
    }

    /// <summary>Throws when any value breaks its rule: what a store does with the options it is given.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names each.</exception>
    public void EnsureValid() => OptionProblem.ThrowIfAny(Problems(), nameof(StreamOptions));
}
