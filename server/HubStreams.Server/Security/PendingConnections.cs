using System.Collections.Concurrent;
using System.Text.Json;
using HubStreams.Streams;

namespace HubStreams.Server.Security;

/// <summary>
/// Hub connections negotiated and not yet connected, counted per client: the user in jwt mode, the client's address
/// without auth. SignalR keeps each negotiated connection for a while (its disconnect timeout) whether or not a transport
/// ever comes, so without this count one client could hold an unbounded number of them and exhaust the node's memory.
/// A negotiation over the cap (<c>LIMIT_PENDING_CONNECTIONS</c>) is refused with <c>TooManyConnections</c> (429).
/// </summary>
public sealed class PendingConnections : IDisposable
{
    /// <summary>How long a negotiated connection counts when no transport comes: longer than SignalR keeps it.</summary>
    internal static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(20);

    private readonly SecuritySettings _settings;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Pending> _byConnection = new();
    private readonly ConnectionLimits.Counts _perClient = new();
    private readonly ITimer _sweeper;

    /// <summary>Starts the count and the sweep that forgets negotiations whose transport never came.</summary>
    public PendingConnections(SecuritySettings settings, TimeProvider time)
    {
        _settings = settings;
        _time = time;
        _sweeper = time.CreateTimer(static state => ((PendingConnections)state!).ForgetExpired(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>How many negotiated connections wait for their transport on this node.</summary>
    public int Count => _byConnection.Count;

    /// <summary>
    /// Middleware for <c>POST …/negotiate</c>: refuses the negotiation of a client at its cap; otherwise lets SignalR
    /// answer and counts the connection it negotiated until its transport connects or it is forgotten.
    /// </summary>
    public async Task NegotiateAsync(HttpContext context, RequestDelegate next, string client)
    {
        var place = _perClient.Open(client, _settings.MaxPendingConnections, () => new StreamException(StreamErrorCode.TooManyConnections,
            $"Too many connections being opened: a client may have {_settings.MaxPendingConnections} negotiated and not yet connected on one node (LIMIT_PENDING_CONNECTIONS). Connect the ones negotiated, or wait."));

        var held = false;
        try
        {
            var body = context.Response.Body;
            using var answer = new MemoryStream();
            context.Response.Body = answer;
            try
            {
                await next(context);
            }
            finally
            {
                context.Response.Body = body;
            }

            // Held before the client has the answer: a client that connects at once must find its connection pending.
            var connectionId = context.Response.StatusCode == StatusCodes.Status200OK ? ConnectionIdOf(answer.GetBuffer().AsSpan(0, (int)answer.Length)) : null;
            held = connectionId is not null && _byConnection.TryAdd(connectionId, new Pending(place, _time.GetUtcNow() + Lifetime));
            answer.Position = 0;
            await answer.CopyToAsync(body, context.RequestAborted);
        }
        finally
        {
            if (!held)
            {
                place.Dispose();
            }
        }
    }

    /// <summary>A connection's transport connected: it no longer counts as pending (its user's connection cap counts it now).</summary>
    public void Connected(string connectionId)
    {
        if (_byConnection.TryRemove(connectionId, out var pending))
        {
            pending.Place.Dispose();
        }
    }

    /// <summary>Stops the sweep.</summary>
    public void Dispose() => _sweeper.Dispose();

    private void ForgetExpired()
    {
        var now = _time.GetUtcNow();
        foreach (var (connectionId, pending) in _byConnection)
        {
            if (pending.ExpiresAt <= now && _byConnection.TryRemove(new KeyValuePair<string, Pending>(connectionId, pending)))
            {
                pending.Place.Dispose();
            }
        }
    }

    // The negotiate answer: {"negotiateVersion":1,"connectionId":"…","connectionToken":"…",…}.
    private static string? ConnectionIdOf(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("connectionId"u8))
                {
                    return reader.Read() && reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
            }
        }
        catch (JsonException)
        {
            // Not a negotiate answer: nothing to count.
        }

        return null;
    }

    private sealed record Pending(IDisposable Place, DateTimeOffset ExpiresAt);
}
