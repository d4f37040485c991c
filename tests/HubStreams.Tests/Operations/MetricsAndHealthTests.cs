using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.RegularExpressions;
using HubStreams.Contracts;
using HubStreams.Server.Security;
using HubStreams.Server.Transport;
using HubStreams.Streams;
using HubStreams.Streams.Memory;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace HubStreams.Tests.Operations;

/// <summary>
/// An exporter listens to every meter of its name in the process, so these tests, which read the exported text,
/// run alone: no other test's server adds to what they count.
/// </summary>
[CollectionDefinition(nameof(MetricsExport), DisableParallelization = true)]
public sealed class MetricsExport;

[Collection(nameof(MetricsExport))]
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
    public async Task A_fresh_node_exports_every_counter_and_gauge_at_zero()
    {
        await using var server = await HubStreamsServer.StartAsync();
        using var http = server.CreateHttpClient();
        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        foreach (var series in new[]
                 {
                     "hubstreams_events_appended_total", "hubstreams_events_delivered_total", "hubstreams_subscriptions_active", "hubstreams_hub_connections",
                     "hubstreams_wakeups_total", "hubstreams_safety_net_checks_total", "hubstreams_redis_errors_total",
                 })
        {
            Assert.True(Value(text, series) == 0, $"{series} is not exported at 0:\n{text}");
        }
    }

    [Fact]
    public async Task Appends_and_deliveries_are_measured_on_the_hosts_own_meter()
    {
        await using var server = await HubStreamsServer.StartAsync();
        var meters = server.Services.GetRequiredService<IMeterFactory>();
        using var appended = new MetricCollector<long>(meters, StreamMetrics.MeterName, "hubstreams.events.appended");
        using var delivered = new MetricCollector<long>(meters, StreamMetrics.MeterName, "hubstreams.events.delivered");
        using var durations = new MetricCollector<double>(meters, StreamMetrics.MeterName, "hubstreams.append.duration");
        await using var hub = await server.ConnectAsync();
        for (var i = 0; i < 3; i++)
        {
            await hub.InvokeAsync<long>("AppendEvent", "measured", "m1", new StreamEvent { Type = i == 2 ? EventTypes.Complete : EventTypes.Answer });
        }

        await foreach (var _ in hub.StreamAsync<StreamEvent>("StreamEvents", "measured", "m1", 1L))
        {
        }

        await Eventually.True(() =>
        {
            delivered.RecordObservableInstruments();
            return delivered.LastMeasurement?.Value == 2;
        });
        appended.RecordObservableInstruments();
        Assert.Equal(3, appended.LastMeasurement?.Value);
        Assert.Equal(3, durations.GetMeasurementSnapshot().Count);
        Assert.All(durations.GetMeasurementSnapshot(), m => Assert.InRange(m.Value, 0, 10));
    }

    [Fact]
    public async Task A_retried_conditional_append_is_neither_counted_nor_announced_again()
    {
        await using var server = await HubStreamsServer.StartAsync();
        using var appended = new MetricCollector<long>(server.Services.GetRequiredService<IMeterFactory>(), StreamMetrics.MeterName, "hubstreams.events.appended");
        await using var listener = await server.ConnectAsync();
        var heard = HubStreaming.ListenToSessions(listener);
        await listener.InvokeAsync("JoinSession", "retried");
        using var http = server.CreateHttpClient();

        // Each append is sent twice, as a producer does that lost the first answer: stored once, announced once.
        foreach (var body in new object[] { new { id = "e0", type = "answer", offset = 0 }, new { id = "e1", type = "complete", offset = 1 } })
        {
            for (var attempt = 0; attempt < 2; attempt++)
            {
                using var response = await http.PostAsJsonAsync(new Uri("/api/sessions/retried/messages/m1/events", UriKind.Relative), body);
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            }
        }

        // Another message's start marks the end of what the first one announced.
        (await http.PostAsJsonAsync(new Uri("/api/sessions/retried/messages/m2/events", UriKind.Relative), new { type = "answer" })).EnsureSuccessStatusCode();
        var announced = new List<string>();
        while (announced.LastOrDefault() != "started retried/m2")
        {
            announced.Add(await heard.ReadAsync().AsTask().WaitAsync(Eventually.SafetyTimeout));
        }

        Assert.Equal(["started retried/m1", "completed retried/m1", "started retried/m2"], announced);
        appended.RecordObservableInstruments();
        Assert.Equal(3, appended.LastMeasurement?.Value);
    }

    [Fact]
    public async Task The_seconds_histograms_have_sub_millisecond_buckets_that_appends_land_in()
    {
        await using var server = await HubStreamsServer.StartAsync();
        using var http = server.CreateHttpClient();
        (await http.PostAsJsonAsync(new Uri("/api/sessions/buckets/messages/m1/events", UriKind.Relative), new { type = "answer" })).EnsureSuccessStatusCode();
        var text = "";
        await Eventually.True(async () =>
        {
            text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            return Value(text, "hubstreams_append_duration_seconds_count") == 1;
        });

        // Edges from 100 µs to 10 s; one append, far faster than a second, lands below 1 s (not only in a 5 s bucket).
        foreach (var edge in new[] { "0.0001", "0.001", "0.01", "0.1", "1", "10" })
        {
            Assert.True(Bucket(text, "hubstreams_append_duration_seconds", edge) >= 0, $"no le=\"{edge}\" bucket:\n{text}");
        }

        Assert.Equal(1, Bucket(text, "hubstreams_append_duration_seconds", "1"));
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
        var security = new SecuritySettings();
        using var access = new StreamAccess(security);
        var delivery = new StreamDelivery(streams, new CompactedStreamCache(budgetBytes: 0), access, new ConnectionLimits(security), TestMetrics.Create(), lifetime, TimeProvider.System,
            NullLogger<StreamDelivery>.Instance);

        var error = await Assert.ThrowsAsync<StreamException>(() => delivery.OpenAsync(StreamKey.Create("s", "m"), 0, "hub", new ClaimsPrincipal(), CancellationToken.None));
        Assert.Equal(StreamErrorCode.ServerShuttingDown, error.Code);
        Assert.Contains("another node", error.Message, StringComparison.Ordinal);
    }

    private static double Bucket(string metrics, string histogram, string edge)
    {
        var match = Regex.Match(metrics, $@"^{Regex.Escape(histogram)}_bucket\{{[^}}]*le=""{Regex.Escape(edge)}""\}} (\S+)", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : -1;
    }

    internal static double Value(string metrics, string name)
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
