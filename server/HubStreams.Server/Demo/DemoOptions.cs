using HubStreams.Streams;

namespace HubStreams.Server.Demo;

/// <summary>The demo producer's settings.</summary>
public sealed class DemoOptions
{
    /// <summary>The default pause between answer chunks.</summary>
    public static readonly TimeSpan DefaultChunkInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>Whether its route is on (<c>DEMO_ENABLED</c>); when null, the default, on in Development only.</summary>
    public bool? Enabled { get; set; }

    /// <summary>The pause between its answer chunks (<c>DEMO_CHUNK_INTERVAL</c>). At least 0; default 20 ms.</summary>
    public TimeSpan ChunkInterval { get; set; } = DefaultChunkInterval;

    /// <summary>The values that break their rules; empty when every value is valid.</summary>
    public IEnumerable<OptionProblem> Problems()
    {
        if (ChunkInterval < TimeSpan.Zero)
        {
            yield return new(nameof(ChunkInterval), "at least 0");
        }
    }
}
