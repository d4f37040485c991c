using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Client;

/// <summary>
/// The client's default retry policy, as SignalR's own reconnects take one: <c>initial</c>, doubling with each failure in
/// a row, never above <c>max</c>, forever. The same policy paces the connection's reconnects, the reader's, the writer's
/// and the session watch's tries (<see cref="HubStreamsClientOptions.RetryPolicy"/> replaces it).
/// </summary>
internal sealed class CappedBackoff(TimeSpan initial, TimeSpan max) : IRetryPolicy
{
    public TimeSpan? NextRetryDelay(RetryContext retryContext) =>
        TimeSpan.FromTicks(Math.Min(max.Ticks, initial.Ticks * (1L << (int)Math.Min(retryContext.PreviousRetryCount, 20))));
}
