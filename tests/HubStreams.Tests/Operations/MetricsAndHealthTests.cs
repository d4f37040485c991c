using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using HubStreams.Contracts;
using HubStreams.Server.Transport;
using HubStreams.Streams;
using HubStreams.Streams.Memory;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace HubStreams.Tests.Operations;

public sealed partial class MetricsAndHealthTests
{
    [Fact]
    public async Task Metrics_show_real_values_in_prometheus_form_after_a_demo_run()
    {
        await using var server = await HubStreamsServer.StartAsync(("DEMO_CHUNK_INTERVAL", "00:00:00.001"));
        using var http = server.CreateHttpClient();
        (await http.PostAsync(new Uri("/api/demo/sessions/metrics/messages/m1", UriKind.Relative), null)).EnsureSuccessStatusCode();
        await using (var hub = await server.ConnectAsync())
        {
            var count = 0;
            await foreach (var _ in hub.StreamAsync<StreamEvent>("StreamEvents", "metrics", "m1", 0L))
            {
                count++;
            }

            Assert.True(count > 200);
        }

        var text = "";
        await Eventually.True(async () =>
        {
            text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            return Value(text, "hubstreams_events_delivered_total") >= 200;
        });

        Assert.True(Value(text, "hubstreams_events_appended_total") >= 200, text);
        Assert.True(Value(text, "hubstreams_wakeups_total") > 0, text);
        Assert.True(Value(text, "hubstreams_append_duration_seconds_count") >= 200, text);
        Assert.True(Value(text, "hubstreams_delivery_lag_seconds_count") > 0, text);
        Assert.Contains("hubstreams_subscriptions_active", text, StringComparison.Ordinal);
        Assert.Contains("hubstreams_append_duration_seconds_bucket", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readiness_follows_redis_and_liveness_does_not()
    {
        using var redisServer = await RedisServerProcess.StartAsync();
        await using var server = await HubStreamsServer.StartAsync(("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", redisServer.Address));
        using var http = server.CreateHttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);

        await redisServer.StopAsync();
        await Eventually.True(async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode == HttpStatusCode.ServiceUnavailable);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);

        await redisServer.RestartAsync();
        await Eventually.True(async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode == HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_server_that_is_stopping_refuses_new_subscriptions()
    {
        using var streams = new MemoryStreamManager(new StreamOptions(), TestMetrics.Create());
        using var lifetime = new StoppingLifetime();
        var delivery = new StreamDelivery(streams, TestMetrics.Create(), lifetime, TimeProvider.System, NullLogger<StreamDelivery>.Instance);

        var error = await Assert.ThrowsAsync<StreamException>(() => delivery.OpenAsync(StreamKey.Create("s", "m"), 0, "hub", null, CancellationToken.None));
        Assert.Equal(StreamErrorCode.ServerShuttingDown, error.Code);
        Assert.Contains("another node", error.Message, StringComparison.Ordinal);
    }

    private static double Value(string metrics, string name)
    {
        var match = Regex.Match(metrics, $@"^{Regex.Escape(name)}(\{{[^}}]*\}})? (\S+)", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) : -1;
    }

    private sealed class StoppingLifetime : IHostApplicationLifetime, IDisposable
    {
        private readonly CancellationTokenSource _stopping = new();

        public StoppingLifetime() => _stopping.Cancel();

        public CancellationToken ApplicationStarted => CancellationToken.None;
        public CancellationToken ApplicationStopping => _stopping.Token;
        public CancellationToken ApplicationStopped => CancellationToken.None;
        public void StopApplication() => _stopping.Cancel();
        public void Dispose() => _stopping.Dispose();
    }
}
