using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace HubStreams.Server.Demo;

/// <summary>
/// A chat client that needs no model: it replays <see cref="DemoScript"/> as a model streams, with pauses: its
/// reasoning, a call to a search tool and the tool's result, the answer in word-sized chunks, and the tokens it used.
/// </summary>
internal sealed class DemoChatClient(DemoOptions options) : IChatClient
{
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var thought in DemoScript.Thoughts)
        {
            await PauseAsync(5, cancellationToken);
            yield return new ChatResponseUpdate(ChatRole.Assistant, [new TextReasoningContent(thought)]);
        }

        await PauseAsync(5, cancellationToken);
        yield return new ChatResponseUpdate(ChatRole.Assistant,
            [new FunctionCallContent("call-1", DemoScript.ToolName, new Dictionary<string, object?> { ["query"] = DemoScript.ToolQuery })]);
        await PauseAsync(5, cancellationToken);
        yield return new ChatResponseUpdate(ChatRole.Tool, [new FunctionResultContent("call-1", DemoScript.ToolResult)]);

        var chunks = DemoScript.AnswerChunks;
        foreach (var chunk in chunks)
        {
            await PauseAsync(1, cancellationToken);
            yield return new ChatResponseUpdate(ChatRole.Assistant, chunk);
        }

        yield return new ChatResponseUpdate(ChatRole.Assistant,
            [new UsageContent(new UsageDetails { InputTokenCount = 17, OutputTokenCount = chunks.Count, TotalTokenCount = 17 + chunks.Count })])
        {
            FinishReason = ChatFinishReason.Stop,
        };
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, chatOptions, cancellationToken).ToChatResponseAsync(cancellationToken);

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

    private async Task PauseAsync(int intervals, CancellationToken cancellationToken)
    {
        var delay = options.ChunkInterval * intervals;
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, cancellationToken);
        }
        else
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
    }
}
