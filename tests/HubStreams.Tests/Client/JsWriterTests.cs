using HubStreams.Tests.Fixtures;
using Xunit.Abstractions;

namespace HubStreams.Tests.Client;

/// <summary>A Node producer on the packed @hubstreams/client honours a stop that a reader sends through another node.</summary>
[Collection(RedisTests.Name)]
public sealed class JsWriterTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task A_node_producer_on_the_packed_package_stops_when_a_reader_on_another_node_asks()
    {
        var work = await JsClientTests.PackedAppFolderAsync();
        try
        {
            await File.WriteAllTextAsync(Path.Combine(work, "write.js"), WriteScript);
            var prefix = RedisFixture.UniquePrefix();
            await using var producerNode = await HubStreamsServer.StartRedisAsync(redis, prefix);
            await using var readerNode = await HubStreamsServer.StartRedisAsync(redis, prefix);
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));

            var writing = Shell.RunAsync("node write.js", work, [("WRITER_HUB", new Uri(producerNode.BaseAddress, "/hubs/streams").ToString())]);
            await using var reader = await readerNode.ConnectAsync();
            var honoured = await StopProbe.StopAfterAsync(reader, "js-app", "w1", 30, timeout.Token);
            var wrote = await writing;
            output.WriteLine($"stop latency: Node writer (packed package) completed {honoured.TotalMilliseconds:F0} ms after a reader's stop on another node");
            Assert.True(wrote.ExitCode == 0, wrote.ToString());
            Assert.Contains("then stopped", wrote.Output, StringComparison.Ordinal);
            Assert.True(honoured < TimeSpan.FromSeconds(5), $"the stop took {honoured.TotalMilliseconds:F0} ms");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private const string WriteScript = """
        import { connect, createConnection, createWriter, disconnect } from "@hubstreams/client";
        const connection = createConnection(process.env.WRITER_HUB);
        await connect(connection);
        const writer = await createWriter(connection, "js-app", "w1");
        let chunks = 0;
        while (!writer.stopRequested.aborted) {
          await writer.append({ type: "answer", content: `${chunks++} ` });
          await new Promise(resolve => setTimeout(resolve, 20));
        }
        await writer.complete({ reason: "stopped" });
        writer.close();
        await disconnect(connection);
        console.log(`wrote ${chunks} chunks, then stopped`);
        """;
}
