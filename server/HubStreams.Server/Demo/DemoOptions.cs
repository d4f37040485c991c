namespace HubStreams.Server.Demo;

/// <summary>The demo producer's settings.</summary>
/// <param name="Enabled">Whether its route is on (<c>DEMO_ENABLED</c>); when null, on in Development only.</param>
/// <param name="ChunkInterval">The pause between its answer chunks (<c>DEMO_CHUNK_INTERVAL</c>). Default 20 ms.</param>
public sealed record DemoOptions(bool? Enabled, TimeSpan ChunkInterval)
{
    /// <summary>The default pause between answer chunks.</summary>
    public static readonly TimeSpan DefaultChunkInterval = TimeSpan.FromMilliseconds(20);
}
