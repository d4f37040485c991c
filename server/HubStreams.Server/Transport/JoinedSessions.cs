using HubStreams.Server.Security;
using Microsoft.AspNetCore.SignalR;

namespace HubStreams.Server.Transport;

/// <summary>
/// The sessions one hub connection has joined, each holding its place in the caps of <see cref="ConnectionLimits"/>
/// until it is left or the connection closes. Joining a session twice counts once.
/// </summary>
internal sealed class JoinedSessions : IDisposable
{
    private const string Item = "hubstreams.sessions";

    private readonly Dictionary<string, IDisposable> _joined = new(StringComparer.Ordinal);

    /// <summary>The sessions of the connection of <paramref name="context"/>.</summary>
    public static JoinedSessions Of(HubCallerContext context)
    {
        lock (context.Items)
        {
            if (context.Items.TryGetValue(Item, out var found))
            {
                return (JoinedSessions)found!;
            }

            var sessions = new JoinedSessions();
            context.Items[Item] = sessions;
            return sessions;
        }
    }

    /// <summary>Records <paramref name="sessionId"/> as joined, counted by <paramref name="count"/>; false when it already was.</summary>
    /// <exception cref="HubStreams.Streams.StreamException">A cap refused it (<c>TooManySubscriptions</c>).</exception>
    public bool Add(string sessionId, Func<IDisposable> count)
    {
        lock (_joined)
        {
            if (_joined.ContainsKey(sessionId))
            {
                return false;
            }

            _joined.Add(sessionId, count());
            return true;
        }
    }

    /// <summary>Forgets <paramref name="sessionId"/>, releasing its place in the caps.</summary>
    public void Remove(string sessionId)
    {
        IDisposable? lease;
        lock (_joined)
        {
            _joined.Remove(sessionId, out lease);
        }

        lease?.Dispose();
    }

    /// <summary>The connection closed: every session's place is released (SignalR drops its groups itself).</summary>
    public void Dispose()
    {
        List<IDisposable> leases;
        lock (_joined)
        {
            leases = [.. _joined.Values];
            _joined.Clear();
        }

        leases.ForEach(lease => lease.Dispose());
    }
}
