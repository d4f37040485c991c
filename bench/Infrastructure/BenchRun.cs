using HubStreams.Contracts;
using HubStreams.Streams;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Bench.Infrastructure;

/// <summary>One benchmark run: its size (quick or full), its progress line, and the servers of the current mode.</summary>
internal sealed class BenchRun(bool quick, Action<string> progress) : IDisposable
{
    public void Dispose() => _sseClient?.Dispose();

    public bool Quick { get; } = quick;

    /// <summary>The bench/ folder of the checkout, whatever the working directory.</summary>
    public static string BenchDirectory { get; } = FindBenchDirectory();

    private static string FindBenchDirectory()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "HubStreams.Bench.csproj")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? Directory.GetCurrentDirectory();
    }

    public StoreMode Mode { get; set; }

    public BenchServer Server { get; set; } = null!;

    public BenchRedis? Redis { get; set; }

    public void Report(string status) => progress($"[{Mode.ToString().ToLowerInvariant()}] {status}");

    public TimeSpan Window(double quickSeconds, double fullSeconds) => TimeSpan.FromSeconds(Quick ? quickSeconds : fullSeconds);

    /// <summary>
    /// <paramref name="count"/> subscribers of <paramref name="target"/>: hub connections opened now, a few at a time, or
    /// for SSE, readers whose request opens its own connection when they follow.
    /// </summary>
    public async Task<List<Subscriber>> OpenSubscribersAsync(Target target, int count) => target == Target.Sse
        ? [.. Enumerable.Range(0, count).Select(_ => new Subscriber(null, SseClient))]
        : [.. (await ConnectManyAsync(target, count)).Select(c => new Subscriber(c, null))];

    /// <summary>The HTTP client of every SSE reader of the current server: one connection per open stream, as many as they need.</summary>
    private HttpClient SseClient
    {
        get
        {
            if (_sseClient?.BaseAddress != Server.BaseAddress)
            {
                _sseClient?.Dispose();
                _sseClient = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue })
                {
                    BaseAddress = Server.BaseAddress,
                    Timeout = Timeout.InfiniteTimeSpan,
                };
            }

            return _sseClient;
        }
    }

    private HttpClient? _sseClient;

    /// <summary>Opens <paramref name="count"/> connections to <paramref name="target"/>, a few at a time, in JSON or MessagePack.</summary>
    public async Task<List<HubConnection>> ConnectManyAsync(Target target, int count, bool messagePack = false)
    {
        var connections = new HubConnection[count];
        using var gate = new SemaphoreSlim(32);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                connections[i] = await Server.ConnectAsync(target, messagePack);
            }
            finally
            {
                gate.Release();
            }
        }));
        return [.. connections];
    }

    public static Task DisposeAllAsync(IEnumerable<Subscriber> subscribers) =>
        DisposeAllAsync(subscribers.Select(s => s.Connection).OfType<HubConnection>());

    public static async Task DisposeAllAsync(IEnumerable<HubConnection> connections)
    {
        using var gate = new SemaphoreSlim(64);
        await Task.WhenAll(connections.Select(async c =>
        {
            await gate.WaitAsync();
            try
            {
                await c.DisposeAsync();
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    /// <summary>Follows a stream in the background, handing each event to <paramref name="onEvent"/>, until cancelled.</summary>
    public static Task Follow(HubConnection connection, string sessionId, string messageId, Action<StreamEvent> onEvent, CancellationToken cancellationToken) =>
        Task.Run(async () =>
        {
            try
            {
                await foreach (var e in connection.StreamAsync<StreamEvent>("StreamEvents", sessionId, messageId, 0L, cancellationToken))
                {
                    onEvent(e);
                }
            }
            catch (OperationCanceledException)
            {
                // The measurement is over.
            }
        }, CancellationToken.None);

    /// <summary>
    /// Sends a warm-up event to each stream whose subscriber has not seen one yet (<paramref name="warm"/>), until every
    /// subscription is live; a subscriber that sees none in a minute (its request failed, say) stops the run.
    /// </summary>
    public static async Task WarmUpAsync(bool[] warm, Func<int, Task> sendTo, bool oneStream = false)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (warm.Any(w => !Volatile.Read(ref w)))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{warm.Count(w => !w)} of {warm.Length} subscribers saw no warm-up event in a minute.");
            }

            foreach (var i in oneStream ? [0] : Enumerable.Range(0, warm.Length).Where(i => !Volatile.Read(ref warm[i])))
            {
                await sendTo(i);
            }

            await WaitForAsync(() => warm.All(w => w), TimeSpan.FromMilliseconds(500));
        }
    }

    /// <summary>Waits for a condition, checking every 20 ms, up to <paramref name="limit"/>; says whether it held.</summary>
    public static async Task<bool> WaitForAsync(Func<bool> condition, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    public static StreamEvent Event(string content) => new() { Type = EventTypes.Answer, Content = content };
}

/// <summary>One subscriber: a hub connection, or an SSE reader.</summary>
internal sealed class Subscriber(HubConnection? connection, HttpClient? sse)
{
    public HubConnection? Connection { get; } = connection;

    /// <summary>Follows a stream from offset 0 in the background, handing each event to <paramref name="onEvent"/>, until cancelled.</summary>
    public Task Follow(string sessionId, string messageId, Action<StreamEvent> onEvent, CancellationToken cancellationToken) =>
        Connection is not null
            ? BenchRun.Follow(Connection, sessionId, messageId, onEvent, cancellationToken)
            : Task.Run(() => FollowSseAsync(sse!, sessionId, messageId, onEvent, cancellationToken), CancellationToken.None);

    private static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerDefaults.Web);

    private static async Task FollowSseAsync(HttpClient http, string sessionId, string messageId, Action<StreamEvent> onEvent, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync(
                new Uri($"/api/sessions/{sessionId}/messages/{messageId}/stream?fromOffset=0", UriKind.Relative),
                HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    onEvent(System.Text.Json.JsonSerializer.Deserialize<StreamEvent>(line.AsSpan(6), Json)!);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
            // The measurement is over, or the server went away.
        }
    }
}
