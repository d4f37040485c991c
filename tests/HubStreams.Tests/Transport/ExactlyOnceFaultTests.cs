using System.Net.Http.Json;
using System.Text.Json;
using HubStreams.Client;
using HubStreams.Contracts;
using HubStreams.Tests.Fixtures;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace HubStreams.Tests.Transport;

/// <summary>
/// A writer appends 2,000 events while things break under it: its node is killed and restarted, Redis drops every
/// client connection, Redis pauses past the server's timeout so that replies are lost after the script ran. Each run
/// stores every event exactly once, in order, and a reader on another node receives each once. Each run writes an
/// "exactly-once:" line with its counts and the retries it took; CI prints them.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class ExactlyOnceFaultTests(ITestOutputHelper output)
{
    private const int EventCount = 2000;

    [Fact]
    public Task The_writers_node_killed_and_restarted_twice() => RunAsync("writer's node killed twice", async (redis, nodes, at, writerUrl) =>
    {
        if (at is 600 or 1400)
        {
            var node = nodes.Single(n => n.HubUrl == writerUrl());
            node.Kill();
            await node.RestartAsync();
        }
    });

    [Fact]
    public Task Redis_dropping_every_client_connection_ten_times() => RunAsync("CLIENT KILL x10", async (redis, nodes, at, _) =>
    {
        if (at > 0 && at % 180 == 0 && at <= 1800)
        {
            await redis.GetDatabase().ExecuteAsync("CLIENT", "KILL", "TYPE", "normal");
        }
    });

    [Fact]
    public Task Redis_paused_past_the_servers_timeout() => RunAsync("CLIENT PAUSE", async (redis, nodes, at, _) =>
    {
        if (at is 500 or 1000 or 1500)
        {
            // Commands wait, then run: the server's 1 s timeout has long given up on the reply by then.
            await redis.GetDatabase().ExecuteAsync("CLIENT", "PAUSE", "1800", "WRITE");
        }
    }, ("REDIS_ADDR_OPTIONS", ",asyncTimeout=1000,syncTimeout=1000"));

    private async Task RunAsync(
        string name, Func<IConnectionMultiplexer, ServerProcess[], int, Func<Uri>, Task> breakAt, params (string Name, string Value)[] extra)
    {
        using var redisServer = await RedisServerProcess.StartAsync();
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redisServer.Address + ",allowAdmin=true");
        var options = extra.FirstOrDefault(e => e.Name == "REDIS_ADDR_OPTIONS").Value ?? "";
        (string, string)[] settings = [("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", redisServer.Address + options), ("REDIS_PREFIX", "once")];
        await using var writerNode = await ServerProcess.StartAsync(settings);
        await using var readerNode = await ServerProcess.StartAsync(settings);
        ServerProcess[] nodes = [writerNode, readerNode];

        var client = new HubStreamsClient(new HubStreamsClientOptions
        {
            HubUrls = { writerNode.HubUrl, readerNode.HubUrl },
            InitialRetryDelay = TimeSpan.FromMilliseconds(20),
            MaxRetryDelay = TimeSpan.FromMilliseconds(500),
        });
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var received = new List<StreamEvent>();
        var reading = Task.Run(async () =>
        {
            var reader = Readers.Read([readerNode.HubUrl], "once", "m1", maxRetryDelay: TimeSpan.FromMilliseconds(500));
            await foreach (var e in reader.WithCancellation(timeout.Token))
            {
                received.Add(e);
            }
        }, timeout.Token);

        await using (var writer = await client.OpenWriterAsync("once", "m1", timeout.Token))
        {
            // Things break while appends are in flight, not between them.
            var breaking = new List<Task>();
            for (var i = 0; i < EventCount; i++)
            {
                var at = i;
                breaking.Add(Task.Run(() => breakAt(admin, nodes, at, () => writer.CurrentHubUrl), timeout.Token));
                await writer.AppendAsync(new StreamEvent { Id = $"e{i}", Type = EventTypes.Answer, Content = $"{i} " }, timeout.Token);
            }

            await Task.WhenAll(breaking);
            await writer.CompleteAsync(cancellationToken: timeout.Token);
            output.WriteLine($"exactly-once: {name}: {EventCount} events appended with {writer.Retries} retries");
        }

        await reading.WaitAsync(timeout.Token);
        var stored = await ReadAllAsync(readerNode.BaseAddress, timeout.Token);
        var answers = stored.Where(e => e.Type == EventTypes.Answer).ToList();
        output.WriteLine($"exactly-once: {name}: stored {answers.Count} events, {answers.Select(e => e.Id).Distinct().Count()} distinct ids; " +
            $"the reader on the other node received {received.Count(e => e.Type == EventTypes.Answer)}");
        Assert.Equal(Enumerable.Range(0, stored.Count).Select(i => (long)i), stored.Select(e => e.Offset));
        Assert.Equal(Enumerable.Range(0, EventCount).Select(i => $"e{i}"), answers.Select(e => e.Id));
        Assert.Equal(EventTypes.Complete, stored[^1].Type);
        Assert.Equal(stored.Select(e => e.Offset), received.Select(e => e.Offset));
    }

    private static async Task<List<StreamEvent>> ReadAllAsync(Uri node, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = node };
        var events = new List<StreamEvent>();
        while (true)
        {
            var page = await http.GetFromJsonAsync<JsonElement>(new Uri($"/api/sessions/once/messages/m1/events?fromOffset={events.Count}", UriKind.Relative), cancellationToken);
            var batch = page.GetProperty("events").Deserialize<List<StreamEvent>>(JsonSerializerOptions.Web)!;
            events.AddRange(batch);
            if (batch.Count == 0 || events.Count >= page.GetProperty("nextOffset").GetInt64() && page.GetProperty("completed").GetBoolean() && events[^1].IsComplete)
            {
                return events;
            }
        }
    }
}
