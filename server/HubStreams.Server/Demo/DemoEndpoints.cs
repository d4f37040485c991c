using HubStreams.Server.Hosting;
using HubStreams.Server.Security;
using HubStreams.Streams;

namespace HubStreams.Server.Demo;

/// <summary>The demo producer's route: <c>POST /api/demo/sessions/{sessionId}/messages/{messageId}</c>.</summary>
public static class DemoEndpoints
{
    /// <summary>Maps the route that starts a simulated agent answer.</summary>
    public static RouteHandlerBuilder MapDemoEndpoints(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost("/api/demo/sessions/{sessionId}/messages/{messageId}", StartAsync).WithName("StartDemo").WithTags("Demo")
            .WithSummary("Starts the demo producer's scripted answer on a new stream (Development, or DEMO_ENABLED=true).")
            .Produces<DemoStarted>(StatusCodes.Status202Accepted).Refuses(StreamErrorCode.StreamExists);

    private static async Task<IResult> StartAsync(string sessionId, string messageId, HttpContext context, DemoProducer demo, StreamAccess access)
    {
        var key = StreamKey.Create(sessionId, messageId);
        access.EnsureCanAppend(context.User, context.Connection.RemoteIpAddress?.ToString(), sessionId);
        await demo.StartAsync(key, context.RequestAborted);
        return TypedResults.Accepted($"/api/sessions/{sessionId}/messages/{messageId}/stream", new DemoStarted(sessionId, messageId));
    }
}

/// <summary>The body of a started demo: the ids of the stream it writes.</summary>
public sealed record DemoStarted(string SessionId, string MessageId);
