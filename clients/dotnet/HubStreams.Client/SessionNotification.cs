namespace HubStreams.Client;

/// <summary>A message of a joined session started (its first event) or completed (its <c>complete</c> event).</summary>
/// <param name="Kind">Which of the two.</param>
/// <param name="SessionId">The session.</param>
/// <param name="MessageId">The message whose stream it is.</param>
public sealed record SessionNotification(SessionNotificationKind Kind, string SessionId, string MessageId);

/// <summary>What a <see cref="SessionNotification"/> says.</summary>
public enum SessionNotificationKind
{
    /// <summary>The message's stream received its first event: readers may follow it.</summary>
    MessageStarted,
    /// <summary>The message's stream received its <c>complete</c> event.</summary>
    MessageCompleted,
}
