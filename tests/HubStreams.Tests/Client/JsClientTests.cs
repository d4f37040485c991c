using HubStreams.Tests.Fixtures;
using Xunit.Abstractions;

namespace HubStreams.Tests.Client;

/// <summary>
/// @hubstreams/client: its own tests (Node's test runner) against real servers, its declarations under tsc, and its
/// packed tarball installed into an app of its own, as a user would.
/// </summary>
public sealed class JsClientTests(ITestOutputHelper output)
{
    private static readonly string Package = Path.Combine(Repository.Root, "clients", "js");

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task The_package_passes_its_tests_against_real_servers_in_each_hub_protocol(string protocol)
    {
        EnsureInstalled();
        await using var open = await HubStreamsServer.StartAsync(("DEMO_CHUNK_INTERVAL", "00:00:00.002"));
        await using var guarded = await HubStreamsServer.StartAsync(Tokens.Settings);
        await using var shortTtl = await HubStreamsServer.StartAsync(("STREAM_TTL", "00:00:01"));
        using var redis = await RedisServerProcess.StartAsync();
        var prefix = RedisFixture.UniquePrefix();
        await using var onRedis = await HubStreamsServer.StartAsync(("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", redis.Address), ("REDIS_PREFIX", prefix));
        var run = await Shell.RunAsync("node --test test/", Package,
        [
            ("HUBSTREAMS_URL", open.BaseAddress.ToString().TrimEnd('/')),
            ("HUBSTREAMS_SHORT_TTL_URL", shortTtl.BaseAddress.ToString().TrimEnd('/')),
            ("HUBSTREAMS_REDIS_URL", onRedis.BaseAddress.ToString().TrimEnd('/')),
            ("HUBSTREAMS_REDIS_PORT", redis.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("HUBSTREAMS_REDIS_PREFIX", prefix),
            ("HUBSTREAMS_JWT_URL", guarded.BaseAddress.ToString().TrimEnd('/')),
            ("HUBSTREAMS_TOKEN_A", Tokens.Mint("js-user", ["a"])),
            ("HUBSTREAMS_PROTOCOL", protocol),
        ]);
        output.WriteLine($"node --test ({protocol}): {NodeTestRun.Summary(run)}");
        NodeTestRun.AssertAllPassed(run);
    }

    [Fact]
    public async Task The_type_declarations_compile()
    {
        EnsureInstalled();
        var check = await Shell.RunAsync("node node_modules/typescript/bin/tsc -p tsconfig.json", Package);
        Assert.True(check.ExitCode == 0, check.ToString());
    }

    [Fact]
    public async Task The_packed_tarball_installs_into_an_app_that_follows_a_stream_across_a_drop()
    {
        EnsureInstalled();
        var work = Directory.CreateTempSubdirectory("hubstreams-js-app-").FullName;
        try
        {
            await InstallPackedAsync(work);
            await File.WriteAllTextAsync(Path.Combine(work, "follow.js"), FollowScript);
            await using var server = await HubStreamsServer.StartAsync(("DEMO_CHUNK_INTERVAL", "00:00:00.002"));
            var followed = await Shell.RunAsync("node follow.js", work, [("HUBSTREAMS_URL", server.BaseAddress.ToString().TrimEnd('/'))]);
            output.WriteLine(followed.Output);
            Assert.True(followed.ExitCode == 0, followed.ToString());
            Assert.Contains("resumed at offset", followed.Output, StringComparison.Ordinal);
            Assert.Matches(@"followed \d+ events to complete, 0 gaps, 0 duplicates", followed.Output);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// A folder of its own for one test's Node scripts, inside an app that has the packed package installed (as
    /// <see cref="InstallPackedAsync"/> installs it): Node finds the app's modules and its <c>"type": "module"</c> from
    /// there. The app is installed once per test run and shared; the caller deletes its folder.
    /// </summary>
    internal static async Task<string> PackedAppFolderAsync()
    {
        var app = await SharedApp.Value;
        return Directory.CreateDirectory(Path.Combine(app, Guid.NewGuid().ToString("N"))).FullName;
    }

    private static readonly Lazy<Task<string>> SharedApp = new(async () =>
    {
        var app = Directory.CreateTempSubdirectory("hubstreams-js-app-shared-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(app, recursive: true);
        await InstallPackedAsync(app);
        return app;
    });

    /// <summary>
    /// Packs the package, checks the tarball (declarations, an exports map), and installs it with the SignalR client and
    /// SignalR's MessagePack protocol, and nothing else, into an ES module app in <paramref name="work"/>.
    /// </summary>
    internal static async Task InstallPackedAsync(string work)
    {
        EnsureInstalled();
        var packed = await Shell.RunAsync($"npm pack --silent --pack-destination '{work}'", Package);
        Assert.True(packed.ExitCode == 0, packed.ToString());
        var tarball = Directory.GetFiles(work, "hubstreams-client-*.tgz").Single();
        var listing = await Shell.RunAsync($"tar -tzf '{tarball}'", work);
        Assert.Contains("package/src/index.d.ts", listing.Output, StringComparison.Ordinal);
        var manifest = await Shell.RunAsync($"tar -xzOf '{tarball}' package/package.json", work);
        Assert.Contains("\"exports\"", manifest.Output, StringComparison.Ordinal);
        var installed = await Shell.RunAsync(
            $"npm init -y >/dev/null && npm pkg set type=module && npm install --no-audit --no-fund '{tarball}' @microsoft/signalr@10.0.11 @microsoft/signalr-protocol-msgpack@10.0.11", work);
        Assert.True(installed.ExitCode == 0, installed.ToString());
    }

    private const string FollowScript = """
        import { connect, createConnection, disconnect, readStream, reconnect } from "@hubstreams/client";
        const url = process.env.HUBSTREAMS_URL;
        await fetch(`${url}/api/demo/sessions/app/messages/m1`, { method: "POST" });
        const connection = createConnection(`${url}/hubs/streams`);
        await connect(connection);
        let expected = 0, gaps = 0, duplicates = 0, count = 0, type = "";
        for await (const event of readStream(connection, "app", "m1", { onStatus: status => console.log(status) })) {
          if (event.offset > expected) gaps++;
          if (event.offset < expected) duplicates++;
          expected = event.offset + 1;
          type = event.type;
          if (++count === 30) reconnect(connection);
        }
        await disconnect(connection);
        if (type !== "complete") throw new Error(`ended on ${type}`);
        console.log(`followed ${count} events to complete, ${gaps} gaps, ${duplicates} duplicates`);
        """;

    private static void EnsureInstalled() => Assert.True(Directory.Exists(Path.Combine(Package, "node_modules", "@microsoft", "signalr")),
        "clients/js has no node_modules: run 'npm ci' there (scripts/test.sh does).");
}
