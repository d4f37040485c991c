namespace HubStreams.Client;

/// <summary>What a reader is doing, for display or logs.</summary>
/// <param name="State">What happened.</param>
/// <param name="NextOffset">The offset the reader asks for next.</param>
/// <param name="HubUrl">The hub address in use, or tried next.</param>
/// <param name="Detail">Why it reconnects, when it does.</param>
public sealed record ReaderStatus(ReaderState State, long NextOffset, Uri HubUrl, string? Detail = null);

/// <summary>The states a reader reports.</summary>
public enum ReaderState
{
    /// <summary>Connecting for the first time.</summary>
    Connecting,
    /// <summary>Reading live.</summary>
    Connected,
    /// <summary>The connection failed or the stream ended early: about to connect again.</summary>
    Reconnecting,
    /// <summary>Reading again after a reconnect, from <see cref="ReaderStatus.NextOffset"/>.</summary>
    Resumed,
}
