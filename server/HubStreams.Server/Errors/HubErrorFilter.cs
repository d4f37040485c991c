using System.Runtime.CompilerServices;
using HubStreams.Streams;
using Microsoft.AspNetCore.SignalR;

namespace HubStreams.Server.Errors;

/// <summary>
/// The hub's one error path: every <see cref="StreamException"/>, whether a hub method throws it, a stream ends with it
/// or a connection is refused with it, reaches the client as a <see cref="HubException"/> whose message starts with
/// the code (<c>StreamNotFound: …</c>), so clients decide from the code. The connection stays open. A refusal is the
/// client's business and is logged at Debug; anything else that fails a hub call is logged here, as an error, once.
/// </summary>
internal sealed partial class HubErrorFilter(ILogger<HubErrorFilter> logger) : IHubFilter
{
    // Around every invocation, an append's included: its state machine comes from a pool.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            var result = await next(invocationContext);
            return result switch
            {
                IAsyncEnumerable<StreamEvent> events => TranslateAsync(events, invocationContext.HubMethodName, invocationContext.Context.ConnectionAborted),
                IAsyncEnumerable<SessionUpdate> updates => TranslateAsync(updates, invocationContext.HubMethodName, invocationContext.Context.ConnectionAborted),
                _ => result,
            };
        }
        catch (StreamException e)
        {
            LogRefused(logger, invocationContext.HubMethodName, e.Code.ToString(), e.Message);
            throw ToHubException(e);
        }
        catch (Exception e) when (e is not (HubException or OperationCanceledException))
        {
            LogFailed(logger, invocationContext.HubMethodName, e);
            throw;
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

    // A streaming method's errors surface while SignalR enumerates its result, after the method returned. A stream
    // whose connection closed under it just ends: the client is gone, nothing failed (SignalR would log it as an error).
    private async IAsyncEnumerable<T> TranslateAsync<T>(
        IAsyncEnumerable<T> events, string method, CancellationToken connectionAborted, [EnumeratorCancellation] CancellationToken cancellationToken = default)
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
                LogRefused(logger, method, e.Code.ToString(), e.Message);
                throw ToHubException(e);
            }
            catch (OperationCanceledException) when (connectionAborted.IsCancellationRequested)
            {
                LogConnectionClosed(logger, method);
                yield break;
            }
            catch (Exception e) when (e is not (HubException or OperationCanceledException))
            {
                LogFailed(logger, method, e);
                throw;
            }

            yield return enumerator.Current;
        }
    }

    [LoggerMessage(1, LogLevel.Debug, "Hub call {Method} refused: {Code}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string method, string code, string reason);

    [LoggerMessage(3, LogLevel.Debug, "Hub call {Method} ended: its connection closed")]
    private static partial void LogConnectionClosed(ILogger logger, string method);

    [LoggerMessage(2, LogLevel.Error, "Hub call {Method} failed")]
    private static partial void LogFailed(ILogger logger, string method, Exception exception);
}
