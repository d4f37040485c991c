using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;
using Testcontainers.Redis;

namespace HubStreams.Tests.Fixtures;

/// <summary>
/// A real Redis for the tests, from the first source that works: <c>REDIS_TEST_ADDR</c>; a Testcontainers
/// container where a Docker engine answers; a <c>redis-server</c> binary started on a free loopback port.
/// When none works, every Redis test fails with the reason: Redis tests never skip.
/// </summary>
public sealed class RedisFixture : IRedisTestStore, IAsyncLifetime
{
    private RedisContainer? _container;
    private RedisServerProcess? _process;

    /// <summary>The StackExchange.Redis configuration string of the test Redis.</summary>
    public string Address { get; private set; } = "";

    /// <summary>Where the Redis came from, for test output.</summary>
    public string Source { get; private set; } = "";

    /// <summary>A connection shared by the tests of a collection.</summary>
    public IConnectionMultiplexer Connection { get; private set; } = null!;

    /// <summary>The locally started server process, when that is the source (it can then be stopped and restarted).</summary>
    public RedisServerProcess? Process => _process;

    public async Task InitializeAsync()
    {
        (Address, Source) = await StartAsync();
        Connection = await ConnectionMultiplexer.ConnectAsync(Address);
    }

    public async Task DisposeAsync()
    {
        if (Connection is not null)
        {
            await Connection.DisposeAsync();
        }

        if (_container is not null)
        {
            await _container.DisposeAsync();
        }

        _process?.Dispose();
    }

    /// <summary>A key prefix no other test uses, so tests share one Redis without seeing each other's streams.</summary>
    public static string UniquePrefix() => $"test:{Guid.NewGuid():N}";

    private async Task<(string Address, string Source)> StartAsync()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("REDIS_TEST_ADDR");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return (fromEnvironment, "REDIS_TEST_ADDR");
        }

        try
        {
            _container = new RedisBuilder("redis:7-alpine").Build();
            await _container.StartAsync().WaitAsync(TimeSpan.FromMinutes(2));
            return (_container.GetConnectionString(), "Testcontainers");
        }
        catch (Exception containerError) when (containerError is not OutOfMemoryException)
        {
            _container = null;
            try
            {
                _process = await RedisServerProcess.StartAsync();
                return (_process.Address, "redis-server");
            }
            catch (Exception processError) when (processError is not OutOfMemoryException)
            {
                throw new InvalidOperationException(
                    "No Redis for the tests: REDIS_TEST_ADDR is not set, no Docker engine answered " +
                    $"({containerError.GetType().Name}: {containerError.Message}), and redis-server could not be started " +
                    $"({processError.Message}). Install redis-server (apt-get install -y redis-server).", processError);
            }
        }
    }
}

/// <summary>A <c>redis-server</c> process on a free loopback port, owned by the tests.</summary>
public sealed class RedisServerProcess : IDisposable
{
    private readonly string _directory;
    private Process _process;

    private RedisServerProcess(int port, string directory, Process process)
    {
        Port = port;
        _directory = directory;
        _process = process;
    }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port},abortConnect=false";

    public static async Task<RedisServerProcess> StartAsync(bool appendOnly = false, params string[] moreArguments)
    {
        var port = FreePort();
        var directory = Directory.CreateTempSubdirectory("hubstreams-redis-").FullName;
        var server = new RedisServerProcess(port, directory, Launch(port, directory, appendOnly, moreArguments)) { _moreArguments = moreArguments };
        await server.WaitUntilReadyAsync();
        return server;
    }

    private string[] _moreArguments = [];

    /// <summary>Stops the server as an operator would (SHUTDOWN: the AOF is flushed), and waits for it to exit.</summary>
    public async Task StopAsync()
    {
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, Port);
            await client.GetStream().WriteAsync("SHUTDOWN\r\n"u8.ToArray());
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Kills the server at once, as a crash would.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>
    /// Freezes the server (SIGSTOP), as a stalled machine would be: it reads, writes and answers nothing until
    /// <see cref="ResumeAsync"/>, while the kernel still buffers what is sent to it.
    /// </summary>
    public Task PauseAsync() => SignalAsync("STOP");

    /// <summary>Lets a paused server run again (SIGCONT).</summary>
    public Task ResumeAsync() => SignalAsync("CONT");

    private async Task SignalAsync(string signal)
    {
        var result = await Shell.RunAsync($"kill -{signal} {_process.Id}");
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} redis-server on port {Port}: {result}");
        }
    }

    /// <summary>Starts the server again on the same port and data folder; waits until it answers PING unless told not to.</summary>
    public async Task RestartAsync(bool appendOnly = false, bool waitUntilReady = true)
    {
        _process.Dispose();
        _process = Launch(Port, _directory, appendOnly, _moreArguments);
        if (waitUntilReady)
        {
            await WaitUntilReadyAsync();
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Process Launch(int port, string directory, bool appendOnly, string[] moreArguments)
    {
        var start = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                     "--dir", directory, "--save", "", "--appendonly", appendOnly ? "yes" : "no",
                 }.Concat(moreArguments))
        {
            start.ArgumentList.Add(argument);
        }

        var process = System.Diagnostics.Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {_process.ExitCode} on port {Port}.");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                await using var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray());
                var buffer = new byte[16];
                var read = await stream.ReadAsync(buffer);
                if (System.Text.Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"redis-server on port {Port} did not answer PING within 20 s.");
            }

            await Task.Delay(50);
        }
    }
}

/// <summary>A Redis the tests run on: one server, or a cluster.</summary>
public interface IRedisTestStore
{
    /// <summary>The StackExchange.Redis configuration string (a cluster's seed nodes for a cluster).</summary>
    string Address { get; }

    /// <summary>Where the Redis came from, for test output.</summary>
    string Source { get; }

    /// <summary>A connection shared by the tests of a collection.</summary>
    IConnectionMultiplexer Connection { get; }
}

[CollectionDefinition(Name)]
public sealed class RedisTests : ICollectionFixture<RedisFixture>
{
    public const string Name = "redis";
}
