using HubStreams.Server.Transport;
using HubStreams.Streams;

namespace HubStreams.Server.Demo;

/// <summary>The demo producer's route: <c>POST /api/demo/sessions/{sessionId}/messages/{messageId}</c>.</summary>
public static class DemoEndpoints
{
    /// <summary>Maps the route that starts a simulated agent answer.</summary>
    public static IEndpointRouteBuilder MapDemoEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/demo/sessions/{sessionId}/messages/{messageId}", StartAsync);
        return endpoints;
    }

    private static async Task<IResult> StartAsync(string sessionId, string messageId, DemoProducer demo, CancellationToken cancellationToken)
    {
        try
        {
            var key = StreamKey.Create(sessionId, messageId);
            await demo.StartAsync(key, cancellationToken);
            return TypedResults.Accepted(
                $"/api/sessions/{sessionId}/messages/{messageId}/stream",
                new DemoStarted(sessionId, messageId));
        }
        catch (StreamException e)
        {
            return StreamErrors.Problem(e);
        }
    }
}

/// <summary>The body of a started demo: the ids of the stream it writes.</summary>
public sealed record DemoStarted(string SessionId, string MessageId);
