using System.Diagnostics;
using System.Net.Http.Json;
using HubStreams.Contracts;
using HubStreams.Server.Hosting;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace HubStreams.Tests.Operations;

/// <summary>
/// Traces across a farm: an event appended on node A and read on node B is one trace, the delivery on B a child of the
/// append on A through the context stored with the event, and the Redis commit that carried it links to the append.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class TracingTests(RedisFixture redis)
{
    private const string TestSource = "HubStreams.Tests.Tracing";

    [Fact]
    public async Task A_delivery_on_node_b_is_a_child_of_the_append_on_node_a_through_the_context_stored_with_the_event()
    {
        // Both nodes run in this process, so one tracer (on node B) hears the spans of both. It records only this test's
        // trace, begun below as the producer's and the reader's own: the other tests of the process go untraced.
        var spans = new List<Activity>();
        var prefix = RedisFixture.UniquePrefix();
        await using var nodeA = await HubStreamsServer.StartRedisAsync(redis, prefix);
        await using var nodeB = await HubStreamsServer.StartRedisAsync(redis, prefix, services => services.AddOpenTelemetry()
            .WithTracing(tracing => tracing
                .AddSource([.. HubStreamsHostingExtensions.TracedSources, TestSource, "Microsoft.AspNetCore.SignalR.Client"])
                .SetSampler(new ThisTestOnly())
                .AddInMemoryExporter(spans)));
        using var source = new ActivitySource(TestSource);
        var messageId = $"m-{Guid.NewGuid():N}";

        List<StreamEvent> read;
        ActivityTraceId producerTrace;
        using (var root = source.StartActivity("producer and reader"))
        {
            producerTrace = root!.TraceId;
            // The producer's trace context goes with its requests; the appends on node A are its children.
            using var httpA = nodeA.CreateHttpClient();
            (await httpA.PostAsJsonAsync($"/api/sessions/traced/messages/{messageId}/events", new { type = "answer", content = "hi" })).EnsureSuccessStatusCode();
            (await httpA.PostAsJsonAsync($"/api/sessions/traced/messages/{messageId}/events", new { type = "complete" })).EnsureSuccessStatusCode();
            await using var hubB = await nodeB.ConnectAsync();
            read = await hubB.StreamAsync<StreamEvent>("FollowStream", new { sessionId = "traced", messageId }).ToListAsync();
        }

        Assert.Equal(2, read.Count);

        Activity[] Named(string name)
        {
            lock (spans)
            {
                return [.. spans.Where(s => s.OperationName == name && Equals(s.GetTagItem("hubstreams.message_id") ?? Parent(s)?.GetTagItem("hubstreams.message_id"), messageId))];
            }
        }

        Activity? Parent(Activity delivery)
        {
            lock (spans)
            {
                return spans.FirstOrDefault(s => s.OperationName == "hubstreams.append" && s.SpanId == delivery.ParentSpanId);
            }
        }

        await Eventually.True(() => Named("hubstreams.deliver").Length == 2 && Named("hubstreams.subscription").Length == 1);
        var appends = Named("hubstreams.append");
        Assert.Equal(2, appends.Length);
        Assert.All(appends, append => Assert.Equal(producerTrace, append.TraceId));
        foreach (var delivery in Named("hubstreams.deliver"))
        {
            // Parented through the stored context, not through this process's ambient activity.
            Assert.True(delivery.HasRemoteParent);
            var append = Assert.Single(appends, a => a.SpanId == delivery.ParentSpanId);
            Assert.Equal(append.TraceId, delivery.TraceId);
            Assert.Equal("hub", delivery.GetTagItem("hubstreams.transport"));
            Assert.Equal(append.GetTagItem("hubstreams.offset"), delivery.GetTagItem("hubstreams.offset"));
            Assert.Contains(delivery.Links, link => link.Context.SpanId == Named("hubstreams.subscription")[0].SpanId);
        }

        // Each append rode in a Redis commit that links to it.
        List<Activity> commits;
        lock (spans)
        {
            commits = [.. spans.Where(s => s.OperationName == "hubstreams.redis.commit")];
        }

        Assert.All(appends, append => Assert.Contains(commits, c => c.Links.Any(l => l.Context.SpanId == append.SpanId)));

        // The context is the server's own: no reader is sent it.
        Assert.All(read, e => Assert.Null(e.TraceParent));
    }

    // Records the test's own root span, whatever descends from a recorded span, and a span linked to one (a Redis
    // commit); drops every other root.
    private sealed class ThisTestOnly : Sampler
    {
        public override SamplingResult ShouldSample(in SamplingParameters samplingParameters) =>
            new(samplingParameters.Name == "producer and reader"
                || samplingParameters.ParentContext.TraceFlags.HasFlag(ActivityTraceFlags.Recorded)
                || samplingParameters.Links?.Any(link => link.Context.TraceFlags.HasFlag(ActivityTraceFlags.Recorded)) == true
                ? SamplingDecision.RecordAndSample
                : SamplingDecision.Drop);
    }

    [Fact]
    public async Task With_no_tracer_no_trace_context_is_stored()
    {
        var prefix = RedisFixture.UniquePrefix();
        await using var node = await HubStreamsServer.StartRedisAsync(redis, prefix);
        using var http = node.CreateHttpClient();
        var messageId = $"m-{Guid.NewGuid():N}";
        (await http.PostAsJsonAsync($"/api/sessions/untraced/messages/{messageId}/events", new { type = "answer", content = "hi" })).EnsureSuccessStatusCode();

        var stored = await redis.Connection.GetDatabase().ListRangeAsync(new HubStreams.Streams.Redis.RedisStreamOptions { Prefix = prefix }.StreamKeyFor(StreamKey.Create("untraced", messageId)));
        Assert.DoesNotContain("traceparent", (string)Assert.Single(stored)!, StringComparison.Ordinal);
    }
}
