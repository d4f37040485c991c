namespace HubStreams.Tests.Fixtures;

/// <summary>Waits for a condition that something in the background makes true, with a generous safety timeout.</summary>
public static class Eventually
{
    /// <summary>The longest any test waits for a signal before it fails.</summary>
    public static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(30);

    public static Task True(Func<bool> condition) => True(() => Task.FromResult(condition()));

    public static async Task True(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + SafetyTimeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not become true in time.");
            await Task.Delay(10);
        }
    }
}
