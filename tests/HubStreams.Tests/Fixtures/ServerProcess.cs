using System.Collections.Concurrent;
using System.Diagnostics;

namespace HubStreams.Tests.Fixtures;

/// <summary>
/// The real server executable in a process of its own, as an operator runs it: it can be killed with
/// SIGKILL, like a node that dies, and started again on the same port.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private static readonly string[] InheritedSettings =
        ["STREAM_MANAGER_TYPE", "REDIS_ADDR", "REDIS_DB", "REDIS_PASSWORD", "REDIS_PREFIX", "ASPNETCORE_URLS", "ASPNETCORE_ENVIRONMENT"];

    private readonly (string Name, string Value)[] _environment;
    private Process _process;

    private ServerProcess(int port, (string Name, string Value)[] environment)
    {
        Port = port;
        _environment = environment;
        _process = Launch();
    }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public Uri HubUrl => new(BaseAddress, "/hubs/streams");

    /// <summary>Everything the process wrote, standard output and error, line by line.</summary>
    public ConcurrentQueue<string> Output { get; } = new();

    public bool HasExited => _process.HasExited;

    public int Pid => _process.Id;

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts the server dll on a free loopback port without waiting for it.</summary>
    public static ServerProcess Launch(params (string Name, string Value)[] environment) =>
        new(RedisServerProcess.FreePort(), environment);

    /// <summary>Starts the server and waits until it answers <c>/healthz</c>.</summary>
    public static async Task<ServerProcess> StartAsync(params (string Name, string Value)[] environment)
    {
        var server = Launch(environment);
        await server.WaitUntilHealthyAsync();
        return server;
    }

    /// <summary>A node in redis mode on the test Redis, under <paramref name="prefix"/>.</summary>
    public static Task<ServerProcess> StartRedisNodeAsync(IRedisTestStore redis, string prefix, params (string Name, string Value)[] more) =>
        StartAsync([("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", redis.Address), ("REDIS_PREFIX", prefix), .. more]);

    /// <summary>SIGKILL: the node dies at once, with no goodbye to its clients.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>Starts the process again on the same port with the same settings.</summary>
    public async Task RestartAsync()
    {
        _process.Dispose();
        _process = Launch();
        await WaitUntilHealthyAsync();
    }

    public Task WaitForExitAsync(CancellationToken cancellationToken = default) => _process.WaitForExitAsync(cancellationToken);

    public async Task WaitUntilHealthyAsync()
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.True(async () =>
        {
            if (_process.HasExited)
            {
                Assert.Fail($"The server exited with code {_process.ExitCode}: {string.Join('\n', Output)}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
                return response.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private Process Launch()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "HubStreams.Server.dll"));
        foreach (var name in InheritedSettings)
        {
            start.Environment.Remove(name);
        }

        start.Environment["ASPNETCORE_URLS"] = BaseAddress.ToString().TrimEnd('/');
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (name, value) in _environment)
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Output.Enqueue(e.Data ?? "");
        process.ErrorDataReceived += (_, e) => Output.Enqueue(e.Data ?? "");
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
