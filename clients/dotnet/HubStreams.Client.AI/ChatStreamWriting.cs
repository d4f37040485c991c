using Microsoft.Extensions.AI;

namespace HubStreams.Client.AI;

/// <summary>Writes a Microsoft.Extensions.AI streaming chat response into a HubStreams stream.</summary>
public static class ChatStreamWriting
{
    /// <summary>
    /// Runs <paramref name="respond"/> (an <see cref="IChatClient"/>'s streaming call, given the token to honour) and
    /// writes what it streams: text as <c>answer</c>, reasoning as <c>thinking</c>, function calls and results as
    /// <c>tool_call</c> and <c>tool_result</c> (name, call id and arguments or result in <c>data</c>), then
    /// <c>complete</c> with the finish reason and the token usage. A reader's stop cancels the model call, and the stream
    /// completes with reason <c>stopped</c>; an exception from the model is written as an <c>error</c> event before
    /// <c>complete</c> (reason <c>error</c>). Returns the offset of <c>complete</c>.
    /// </summary>
    /// <example><code>
    /// await writer.WriteChatResponseAsync(ct => chatClient.GetStreamingResponseAsync(messages, options, ct), ct);
    /// </code></example>
    public static async Task<long> WriteChatResponseAsync(
        this IStreamEventWriter writer, Func<CancellationToken, IAsyncEnumerable<ChatResponseUpdate>> respond, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(respond);
        using var call = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, writer.StopRequested);
        var usage = new UsageDetails();
        ChatFinishReason? finishReason = null;
        var reason = "finished";
        try
        {
            await foreach (var update in respond(call.Token).WithCancellation(call.Token))
            {
                finishReason = update.FinishReason ?? finishReason;
                foreach (var content in update.Contents)
                {
                    if (content is UsageContent used)
                    {
                        usage.Add(used.Details);
                    }
                    else if (ChatEventMapping.ToEvent(content) is { } streamEvent)
                    {
                        await writer.AppendAsync(streamEvent, cancellationToken);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (writer.StopRequested.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            reason = "stopped";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            reason = "error";
            await writer.AppendAsync(ChatEventMapping.Error(e), cancellationToken);
        }

        return await writer.AppendAsync(ChatEventMapping.Complete(reason, finishReason, usage), cancellationToken);
    }
}
