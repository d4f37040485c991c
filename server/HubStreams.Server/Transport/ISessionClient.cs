namespace HubStreams.Server.Transport;

/// <summary>What the hub calls on clients that joined a session (with <c>JoinSession</c>).</summary>
public interface ISessionClient
{
    /// <summary>A message's stream received its first event.</summary>
    Task MessageStarted(string sessionId, string messageId);

    /// <summary>A message's stream received its <c>complete</c> event.</summary>
    Task MessageCompleted(string sessionId, string messageId);
}
