using System.Text.Json;
using Microsoft.Extensions.AI;

namespace HubStreams.Client.AI;

/// <summary>How each kind of Microsoft.Extensions.AI content becomes a stream event.</summary>
public static class ChatEventMapping
{
    /// <summary>The event for one piece of streamed content, or null for content a stream does not carry (images, usage).</summary>
    public static StreamEvent? ToEvent(AIContent content) => content switch
    {
        TextContent { Text.Length: > 0 } text => new StreamEvent { Type = EventTypes.Answer, Content = text.Text },
        TextReasoningContent { Text.Length: > 0 } reasoning => new StreamEvent { Type = EventTypes.Thinking, Content = reasoning.Text },
        FunctionCallContent call => new StreamEvent
        {
            Type = EventTypes.ToolCall,
            Content = call.Name,
            Data = Json(new Dictionary<string, object?> { ["callId"] = call.CallId, ["name"] = call.Name, ["arguments"] = call.Arguments }),
        },
        FunctionResultContent result => new StreamEvent
        {
            Type = EventTypes.ToolResult,
            Content = result.Result as string,
            Data = Json(new Dictionary<string, object?> { ["callId"] = result.CallId, ["result"] = result.Result }),
        },
        _ => null,
    };

    /// <summary>The <c>error</c> event for a failed model call: its message, and the exception's type in <c>data</c>.</summary>
    public static StreamEvent Error(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return new StreamEvent
        {
            Type = EventTypes.Error,
            Content = exception.Message,
            Data = Json(new Dictionary<string, object?> { ["exception"] = exception.GetType().Name }),
        };
    }

    /// <summary>The <c>complete</c> event: why it ended, the model's finish reason, and the tokens used.</summary>
    public static StreamEvent Complete(string reason, ChatFinishReason? finishReason, UsageDetails usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        var data = new Dictionary<string, object?> { ["reason"] = reason };
        if (finishReason is { } finish)
        {
            data["finishReason"] = finish.Value;
        }

        if (usage.InputTokenCount is not null || usage.OutputTokenCount is not null || usage.TotalTokenCount is not null)
        {
            data["usage"] = new Dictionary<string, long?>
            {
                ["inputTokens"] = usage.InputTokenCount,
                ["outputTokens"] = usage.OutputTokenCount,
                ["totalTokens"] = usage.TotalTokenCount,
            };
        }

        return new StreamEvent { Type = EventTypes.Complete, Done = true, Data = Json(data) };
    }

    private static JsonElement Json(Dictionary<string, object?> value) => JsonSerializer.SerializeToElement(value, JsonSerializerOptions.Web);
}
