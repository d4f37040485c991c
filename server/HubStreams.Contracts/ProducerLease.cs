namespace HubStreams.Contracts;

/// <summary>
/// What a producer's heartbeat answers: where its stream stands, and until when the server waits for its next append or
/// heartbeat before it ends the stream as abandoned (an <c>error</c> with <c>data.reason: "producer_lost"</c>, then
/// <c>complete</c>).
/// </summary>
/// <param name="NextOffset">The offset the next event goes at.</param>
/// <param name="ExpiresAt">
/// The producer's deadline, by the server's clock; null when the server ends no stream this way
/// (<c>STREAM_PRODUCER_TIMEOUT</c> is 0) or the stream holds nothing yet (the lease starts with its first event).
/// </param>
public sealed record ProducerLease(long NextOffset, DateTimeOffset? ExpiresAt);
