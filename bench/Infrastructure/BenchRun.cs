using HubStreams.Contracts;
using HubStreams.Streams;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Bench.Infrastructure;

/// <summary>One benchmark run: its size (quick or full), its progress line, and the servers of the current mode.</summary>
internal sealed class BenchRun(bool quick, Action<string> progress)
{
    public bool Quick { get; } = quick;

    public StoreMode Mode { get; set; }

    public BenchServer Server { get; set; } = null!;

    public BenchRedis? Redis { get; set; }

    public void Report(string status) => progress($"[{Mode.ToString().ToLowerInvariant()}] {status}");

    public TimeSpan Window(double quickSeconds, double fullSeconds) => TimeSpan.FromSeconds(Quick ? quickSeconds : fullSeconds);

    /// <summary>Opens <paramref name="count"/> connections to <paramref name="target"/>, a few at a time.</summary>
    public async Task<List<HubConnection>> ConnectManyAsync(Target target, int count)
    {
        var connections = new HubConnection[count];
        using var gate = new SemaphoreSlim(32);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                connections[i] = await Server.ConnectAsync(target);
            }
            finally
            {
                gate.Release();
            }
        }));
        return [.. connections];
    }

    public static async Task DisposeAllAsync(IEnumerable<HubConnection> connections)
    {
        using var gate = new SemaphoreSlim(64);
        await Task.WhenAll(connections.Select(async c =>
        {
            await gate.WaitAsync();
            try
            {
                await c.DisposeAsync();
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    /// <summary>Follows a stream in the background, handing each event to <paramref name="onEvent"/>, until cancelled.</summary>
    public static Task Follow(HubConnection connection, string sessionId, string messageId, Action<StreamEvent> onEvent, CancellationToken cancellationToken) =>
        Task.Run(async () =>
        {
            try
            {
                await foreach (var e in connection.StreamAsync<StreamEvent>("StreamEvents", sessionId, messageId, 0L, cancellationToken))
                {
                    onEvent(e);
                }
            }
            catch (OperationCanceledException)
            {
                // The measurement is over.
            }
        }, CancellationToken.None);

    /// <summary>Waits for a condition, checking every 20 ms, up to <paramref name="limit"/>; says whether it held.</summary>
    public static async Task<bool> WaitForAsync(Func<bool> condition, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    public static StreamEvent Event(string content) => new() { Type = EventTypes.Answer, Content = content };
}
