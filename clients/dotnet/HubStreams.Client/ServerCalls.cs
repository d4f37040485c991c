using System.Net;
using Microsoft.AspNetCore.SignalR;

namespace HubStreams.Client;

/// <summary>How the client reads what the server said: the code at the start of a hub error, or the HTTP status of a refused connection.</summary>
internal static class ServerCalls
{
    /// <summary>The error code of a failure, when the server gave one.</summary>
    public static StreamErrorCode? CodeOf(Exception? failure) => failure switch
    {
        null => null,
        HttpRequestException { StatusCode: HttpStatusCode.Unauthorized } => StreamErrorCode.AuthenticationRequired,
        HttpRequestException { StatusCode: HttpStatusCode.Forbidden } => StreamErrorCode.AccessDenied,
        _ => StreamErrors.FromMessage(failure.Message),
    };

    /// <summary>The failure as a final <see cref="HubStreamsException"/>, or null when it is worth retrying.</summary>
    public static HubStreamsException? AsFinal(Exception? failure) =>
        CodeOf(failure) is { } code && StreamErrors.Describe(code).IsFinal
            ? failure as HubStreamsException ?? new HubStreamsException(code, StreamErrors.ServerMessage(failure!.Message), failure)
            : null;

    /// <summary>Runs a hub invocation, turning a final refusal into a <see cref="HubStreamsException"/>.</summary>
    public static async Task InvokeAsync(Func<Task> invocation)
    {
        try
        {
            await invocation();
        }
        catch (HubException e) when (AsFinal(e) is { } final)
        {
            throw final;
        }
    }
}
