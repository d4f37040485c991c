namespace HubStreams.Client;

/// <summary>The pause before the next attempt: <c>initial</c>, doubling with each failure in a row, never above <c>max</c>.</summary>
internal static class RetryDelays
{
    public static TimeSpan After(long failuresInARow, TimeSpan initial, TimeSpan max) =>
        TimeSpan.FromTicks(Math.Min(max.Ticks, initial.Ticks * (1L << (int)Math.Min(failuresInARow, 20))));
}
