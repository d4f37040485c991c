using System.Net;
using System.Net.Http.Json;
using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Operations;

/// <summary>
/// A node that starts while Redis is still loading its data after a restart (every command answered "LOADING"):
/// it starts, is not ready, and serves once Redis does.
/// </summary>
public sealed class RedisLoadingTests
{
    [Fact]
    public async Task A_node_started_while_redis_loads_its_data_starts_and_serves_once_redis_is_ready()
    {
        // Restarted, Redis loads each key a millisecond apart and answers while it does: it keeps loading until the
        // test lets it finish, however long the node takes to start.
        using var redis = await RedisServerProcess.StartAsync(false,
            "--enable-debug-command", "yes", "--key-load-delay", "1000", "--loading-process-events-interval-bytes", "1024");
        var populate = await Shell.RunAsync($"redis-cli -p {redis.Port} debug populate 100000 filler 200 && redis-cli -p {redis.Port} save");
        Assert.True(populate.ExitCode == 0, populate.ToString());
        redis.Kill();
        await redis.RestartAsync(waitUntilReady: false);
        await Eventually.True(async () => (await Shell.RunAsync($"redis-cli -p {redis.Port} ping")).Output.Contains("LOADING", StringComparison.Ordinal));

        await using var node = await ServerProcess.StartAsync(("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", redis.Address));
        // The node logged it before it listened; its output is read on another thread, which may lag behind on a busy machine.
        await Eventually.True(() => node.Output.Any(line => line.Contains("answers but cannot serve yet: LOADING", StringComparison.Ordinal)));
        var release = await Shell.RunAsync($"redis-cli -p {redis.Port} config set key-load-delay 0");
        Assert.True(release.ExitCode == 0, release.ToString());

        using var http = new HttpClient { BaseAddress = node.BaseAddress };
        await Eventually.True(async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode == HttpStatusCode.OK);
        using var appended = await http.PostAsJsonAsync(new Uri("/api/sessions/loading/messages/m1/events", UriKind.Relative), new { type = "answer" });
        Assert.Equal(HttpStatusCode.Created, appended.StatusCode);
    }
}
