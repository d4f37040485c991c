namespace HubStreams.Contracts;

/// <summary>Where a stream stands (the hub's <c>GetStreamInfo</c>), for a producer that opens it.</summary>
/// <param name="NextOffset">How many events it holds: the offset of the next one.</param>
/// <param name="Completed">Whether it holds its <c>complete</c> event.</param>
/// <param name="StreamId">Its identity, or null while it holds nothing.</param>
public sealed record StreamInfo(long NextOffset, bool Completed, string? StreamId);
