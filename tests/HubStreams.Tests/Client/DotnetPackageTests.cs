using System.Diagnostics;
using System.IO.Compression;
using System.Net.Http.Json;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR.Client;
using Xunit.Abstractions;

namespace HubStreams.Tests.Client;

/// <summary>
/// HubStreams.Client as an application gets it: packed, restored from a folder feed into an app of its own, and used
/// against a farm that requires tokens, across a token expiry and a node kill.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class DotnetPackageTests(RedisFixture redis, ITestOutputHelper output)
{
    [Fact]
    public async Task An_app_on_the_packed_package_follows_a_stream_across_a_token_expiry_and_a_node_kill()
    {
        var work = Directory.CreateTempSubdirectory("hubstreams-dotnet-app-").FullName;
        try
        {
            // A version of its own, so no package cache can hand out an older build.
            var version = $"1.0.0-test.{DateTime.UtcNow:yyyyMMddHHmmssfff}";
            var feed = Path.Combine(work, "feed");
            foreach (var project in new[] { "server/HubStreams.Contracts", "server/HubStreams.Protocols.MessagePack", "clients/dotnet/HubStreams.Client" })
            {
                var packed = await Shell.RunAsync($"dotnet pack {project} -c Release -o '{feed}' -p:Version={version} --nologo -v quiet");
                Assert.True(packed.ExitCode == 0, packed.ToString());
            }

            var nuspec = ReadNuspec(Path.Combine(feed, $"HubStreams.Client.{version}.nupkg"), out var files);
            Assert.Contains("Microsoft.AspNetCore.SignalR.Client", nuspec, StringComparison.Ordinal);
            Assert.Contains($"\"HubStreams.Contracts\" version=\"{version}\"", nuspec, StringComparison.Ordinal);
            Assert.Contains($"\"HubStreams.Protocols.MessagePack\" version=\"{version}\"", nuspec, StringComparison.Ordinal);
            Assert.DoesNotContain("StackExchange.Redis", nuspec, StringComparison.Ordinal);
            Assert.Contains("<license type=\"expression\">MIT</license>", nuspec, StringComparison.Ordinal);
            Assert.Contains("README.md", files);
            Assert.Contains("lib/net10.0/HubStreams.Client.xml", files);

            var app = Path.Combine(work, "app");
            Directory.CreateDirectory(app);
            await File.WriteAllTextAsync(Path.Combine(app, "FollowApp.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings><Nullable>enable</Nullable></PropertyGroup>
                  <ItemGroup><PackageReference Include="HubStreams.Client" Version="{version}" /></ItemGroup>
                </Project>
                """);
            await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
                <configuration><packageSources><add key="local" value="{feed}" /></packageSources></configuration>
                """);
            await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), AppSource);
            var built = await Shell.RunAsync("dotnet build -c Release -o out --nologo -v quiet", app, timeout: TimeSpan.FromMinutes(4));
            Assert.True(built.ExitCode == 0, built.ToString());

            // Two nodes that require tokens, on one Redis; the app reads from node A first.
            var prefix = RedisFixture.UniquePrefix();
            (string, string)[] settings = [.. Tokens.Settings, ("AUTH_JWT_CLOCK_SKEW", "0")];
            await using var nodeA = await ServerProcess.StartRedisNodeAsync(redis, prefix, settings);
            await using var nodeB = await ServerProcess.StartRedisNodeAsync(redis, prefix, settings);
            using var producer = new HttpClient { BaseAddress = nodeB.BaseAddress };
            producer.DefaultRequestHeaders.Authorization = new("Bearer", Tokens.Mint("producer", ["app"], producer: true));

            // Tokens that expire one after another, 2 s apart: each time it is asked, the app hands out the next one.
            var tokens = string.Join(' ', Enumerable.Range(1, 60).Select(i => Tokens.Mint("app-user", ["app"], lifetime: TimeSpan.FromSeconds(2 * i))));
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = app };
            foreach (var argument in new[] { Path.Combine(app, "out", "FollowApp.dll"), nodeA.HubUrl.ToString(), nodeB.HubUrl.ToString() })
            {
                start.ArgumentList.Add(argument);
            }

            start.Environment["APP_TOKENS"] = tokens;
            using var follower = Process.Start(start)!;
            var lines = new List<string>();
            var firstEvent = new TaskCompletionSource();
            follower.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    return;
                }

                lock (lines)
                {
                    lines.Add(e.Data);
                }

                if (e.Data.StartsWith("event", StringComparison.Ordinal))
                {
                    firstEvent.TrySetResult();
                }
            };
            follower.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (lines) lines.Add("stderr: " + e.Data); };
            follower.BeginOutputReadLine();
            follower.BeginErrorReadLine();

            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            for (var i = 0; i < 150; i++)
            {
                using var appended = await producer.PostAsJsonAsync(new Uri("/api/sessions/app/messages/m1/events", UriKind.Relative),
                    new { type = "answer", content = $"{i} " }, timeout.Token);
                appended.EnsureSuccessStatusCode();
                if (i == 20)
                {
                    await WaitForFirstEventAsync(firstEvent.Task, follower, lines, timeout.Token);
                    nodeA.Kill();
                }

                await Task.Delay(50, timeout.Token);
            }

            (await producer.PostAsJsonAsync(new Uri("/api/sessions/app/messages/m1/events", UriKind.Relative), new { type = "complete" }, timeout.Token)).EnsureSuccessStatusCode();
            await follower.WaitForExitAsync(timeout.Token);
            string[] seen;
            lock (lines)
            {
                seen = [.. lines];
            }

            var summary = seen.LastOrDefault(l => l.StartsWith("followed", StringComparison.Ordinal)) ?? string.Join('\n', seen);
            output.WriteLine(summary);
            output.WriteLine(string.Join('\n', seen.Where(l => l.StartsWith("status", StringComparison.Ordinal))));
            Assert.True(follower.ExitCode == 0, string.Join('\n', seen));
            Assert.Equal("followed 151 events to complete, 0 gaps, 0 duplicates", summary);
            Assert.Contains(seen, l => l.Contains($"Resumed on {nodeB.HubUrl}", StringComparison.Ordinal));
            Assert.Contains(seen, l => l.StartsWith("status Reconnecting", StringComparison.Ordinal) && l.Contains("AccessExpired", StringComparison.Ordinal));

            // The packed package as a producer on node B; a reader on node A (back up) asks it to stop.
            await nodeA.RestartAsync();
            var writing = Shell.RunAsync($"dotnet '{Path.Combine(app, "out", "FollowApp.dll")}' write {nodeB.HubUrl}", app,
                [("WRITER_TOKEN", Tokens.Mint("app-writer", ["app"], producer: true))]);
            await using var reader = new HubConnectionBuilder()
                .WithUrl(nodeA.HubUrl, o => o.AccessTokenProvider = () => Task.FromResult<string?>(Tokens.Mint("app-reader", ["app"])))
                .Build();
            await reader.StartAsync(timeout.Token);
            var honoured = await StopProbe.StopAfterAsync(reader, "app", "w1", 30, timeout.Token);
            var wrote = await writing;
            output.WriteLine($"stop latency: .NET writer (packed package) completed {honoured.TotalMilliseconds:F0} ms after a reader's stop on another node");
            Assert.True(wrote.ExitCode == 0, wrote.ToString());
            Assert.Contains("then stopped", wrote.Output, StringComparison.Ordinal);
            Assert.True(honoured < TimeSpan.FromSeconds(5), $"the stop took {honoured.TotalMilliseconds:F0} ms");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static string ReadNuspec(string package, out List<string> files)
    {
        using var zip = ZipFile.OpenRead(package);
        files = [.. zip.Entries.Select(e => e.FullName)];
        using var reader = new StreamReader(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
        return reader.ReadToEnd();
    }

    // The app: only HubStreams.Client. "write <hub>": a producer that streams until a reader asks it to stop. Otherwise
    // a reader of the given hubs; each time the client asks, it hands out the next token of APP_TOKENS.
    private const string AppSource = """
        using HubStreams.Client;
        using HubStreams.Contracts;

        if (args[0] == "write")
        {
            var producer = new HubStreamsClient(new HubStreamsClientOptions
            {
                HubUrls = { new Uri(args[1]) },
                AccessTokenProvider = _ => Task.FromResult<string?>(Environment.GetEnvironmentVariable("WRITER_TOKEN")),
            });
            using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await using var writer = await producer.OpenWriterAsync("app", "w1", limit.Token);
            var chunks = 0;
            while (!writer.StopRequested.IsCancellationRequested)
            {
                await writer.AppendAsync(new StreamEvent { Type = EventTypes.Answer, Content = $"{chunks++} " }, limit.Token);
                await Task.Delay(20, limit.Token);
            }

            await writer.CompleteAsync(System.Text.Json.JsonSerializer.SerializeToElement(new { reason = "stopped" }), limit.Token);
            Console.WriteLine($"wrote {chunks} chunks, then stopped");
            return;
        }

        var tokens = new Queue<string>(Environment.GetEnvironmentVariable("APP_TOKENS")!.Split(' '));
        var asked = 0;
        var options = new HubStreamsClientOptions
        {
            InitialRetryDelay = TimeSpan.FromMilliseconds(50),
            MaxRetryDelay = TimeSpan.FromMilliseconds(500),
            AccessTokenProvider = _ =>
            {
                lock (tokens)
                {
                    asked++;
                    return Task.FromResult<string?>(tokens.Dequeue());
                }
            },
        };
        foreach (var url in args)
        {
            options.HubUrls.Add(new Uri(url));
        }

        var client = new HubStreamsClient(options);
        long expected = 0, gaps = 0, duplicates = 0, count = 0;
        var last = "";
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await foreach (var e in client.ReadStreamAsync("app", "m1", 0, s => Console.WriteLine($"status {s.State} on {s.HubUrl} at {s.NextOffset}: {s.Detail}"), timeout.Token))
        {
            if (e.Offset > expected) gaps++;
            if (e.Offset < expected) duplicates++;
            expected = e.Offset + 1;
            last = e.Type!;
            count++;
            Console.WriteLine($"event {e.Offset}");
        }

        Console.WriteLine($"tokens asked {asked}");
        Console.WriteLine($"followed {count} events to {last}, {gaps} gaps, {duplicates} duplicates");
        """;

    // The follower's first event, or a failure that says what the follower printed and whether it still runs.
    private static async Task WaitForFirstEventAsync(Task firstEvent, Process follower, List<string> lines, CancellationToken cancellationToken)
    {
        try
        {
            await firstEvent.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException e)
        {
            string printed;
            lock (lines)
            {
                printed = string.Join('\n', lines);
            }

            throw new TimeoutException(
                $"The app printed no event in time (it {(follower.HasExited ? $"exited with {follower.ExitCode}" : "is still running")}). It printed:\n{printed}", e);
        }
    }
}
