using System.Diagnostics;
using System.Net.Http;
using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Hosting;

/// <summary>The real server executable, started as an operator would start it.</summary>
public sealed class StartupTests
{
    private static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("STREAM_MANAGER_TYPE", "bogus")]
    [InlineData("REDIS_DB", "abc")]
    public async Task Bad_configuration_stops_start_up_with_a_one_line_message_naming_the_setting(string variable, string value)
    {
        using var server = StartServer((variable, value));
        var stderr = server.StandardError.ReadToEndAsync();
        await server.WaitForExitAsync().WaitAsync(SafetyTimeout);

        Assert.NotEqual(0, server.ExitCode);
        var message = (await stderr).Trim();
        Assert.StartsWith("Invalid configuration: " + variable, message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public async Task The_server_starts_in_memory_mode_by_default_and_answers_healthz()
    {
        var port = RedisServerProcess.FreePort();
        using var server = StartServer(("ASPNETCORE_URLS", $"http://127.0.0.1:{port}"));
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var deadline = DateTime.UtcNow + SafetyTimeout;
            while (true)
            {
                if (server.HasExited)
                {
                    Assert.Fail("The server exited: " + await server.StandardError.ReadToEndAsync());
                }

                try
                {
                    using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
                    Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
                    Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
                    break;
                }
                catch (HttpRequestException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100);
                }
            }
        }
        finally
        {
            server.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task An_unreachable_redis_is_reported_with_its_address_and_never_the_password()
    {
        var port = RedisServerProcess.FreePort();
        var redisPort = RedisServerProcess.FreePort();
        const string password = "hunter2-do-not-log";
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var server = StartServer(output,
            ("ASPNETCORE_URLS", $"http://127.0.0.1:{port}"), ("STREAM_MANAGER_TYPE", "redis"),
            ("REDIS_ADDR", $"127.0.0.1:{redisPort}"), ("REDIS_PASSWORD", password), ("DEMO_ENABLED", "false"));
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await Eventually.True(async () =>
            {
                try
                {
                    using var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
                    return ready.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            });

            using var append = await http.PostAsync(new Uri("/api/sessions/s/messages/m/events", UriKind.Relative),
                new StringContent("""{"type":"answer"}""", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, append.StatusCode);
            Assert.DoesNotContain(password, await append.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            var log = string.Join("\n", output);
            Assert.Contains($"Redis at 127.0.0.1:{redisPort} is unreachable at start-up", log, StringComparison.Ordinal);
            Assert.DoesNotContain(password, log, StringComparison.Ordinal);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
        }
    }

    private static Process StartServer(params (string Name, string Value)[] environment) => StartServer(null, environment);

    /// <summary>Starts the server dll; with <paramref name="output"/>, both its output streams are collected there.</summary>
    private static Process StartServer(System.Collections.Concurrent.ConcurrentQueue<string>? output, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "HubStreams.Server.dll"));
        foreach (var name in new[] { "STREAM_MANAGER_TYPE", "REDIS_DB", "REDIS_ADDR", "REDIS_PASSWORD", "ASPNETCORE_URLS" })
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        start.Environment["Logging__Console__FormatterName"] = "simple";
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => output?.Enqueue(e.Data ?? "");
        process.ErrorDataReceived += (_, e) => output?.Enqueue(e.Data ?? "");
        process.Start();
        process.BeginOutputReadLine();
        if (output is not null)
        {
            process.BeginErrorReadLine();
        }

        return process;
    }
}
