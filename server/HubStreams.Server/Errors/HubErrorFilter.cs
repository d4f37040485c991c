using System.Runtime.CompilerServices;
using HubStreams.Streams;
using Microsoft.AspNetCore.SignalR;

namespace HubStreams.Server.Errors;

/// <summary>
/// The hub's one error path: every <see cref="StreamException"/>, whether a hub method throws it, a stream ends with it
/// or a connection is refused with it, reaches the client as a <see cref="HubException"/> whose message starts with
/// the code (<c>StreamNotFound: …</c>), so clients decide from the code. The connection stays open.
/// </summary>
internal sealed class HubErrorFilter : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            var result = await next(invocationContext);
            return result is IAsyncEnumerable<StreamEvent> events ? TranslateAsync(events) : result;
        }
        catch (StreamException e)
        {
            throw ToHubException(e);
        }
    }

    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        try
        {
            await next(context);
        }
        catch (StreamException e)
        {
            throw ToHubException(e);
        }
    }

    /// <summary>The refusal as hub clients see it: <c>{code}: {message}</c>.</summary>
    public static HubException ToHubException(StreamException e) => new($"{e.Code}: {e.Message}", e);

    // A streaming method's errors surface while SignalR enumerates its result, after the method returned.
    private static async IAsyncEnumerable<StreamEvent> TranslateAsync(
        IAsyncEnumerable<StreamEvent> events, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var enumerator = events.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await enumerator.MoveNextAsync())
                {
                    yield break;
                }
            }
            catch (StreamException e)
            {
                throw ToHubException(e);
            }

            yield return enumerator.Current;
        }
    }
}
