namespace HubStreams.Streams;

/// <summary>
/// What a conditional append (<see cref="IStreamManager.AppendAtAsync"/>) did: the event's offset, and whether an earlier
/// try of the same append had stored it already, in which case nothing was stored this time.
/// </summary>
/// <param name="Offset">Where the event is.</param>
/// <param name="AlreadyStored">The event at <paramref name="Offset"/> has this append's id: a retry of an append that landed.</param>
public readonly record struct ConditionalAppend(long Offset, bool AlreadyStored);
