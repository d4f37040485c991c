using System.Globalization;
using System.Text.Json.Nodes;
using HubStreams.Streams;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace HubStreams.Server.Hosting;

/// <summary>
/// The refusals a route can answer, by code: its OpenAPI operation lists each status with the codes that have it, from
/// the one error table (<see cref="StreamErrors"/>).
/// </summary>
/// <param name="Codes">The codes, besides those every route under <c>/api</c> may answer (<see cref="ApiDocument.EveryRoute"/>).</param>
public sealed record RouteRefusals(IReadOnlyList<StreamErrorCode> Codes);

/// <summary>
/// The OpenAPI document of the HTTP routes at <c>/openapi/v1.json</c> (<c>Microsoft.AspNetCore.OpenApi</c>): each
/// route with its parameters, its answers and their schemas (the event, a page, problem details), and every refusal
/// it can answer, each status with its codes in <c>x-error-codes</c>. Health and metrics, which are not route
/// handlers, are described by hand.
/// </summary>
public static class ApiDocument
{
    /// <summary>Where the document is served (the package's default).</summary>
    public const string Path = "/openapi/v1.json";

    /// <summary>The extension of a problem response that lists the codes it answers with.</summary>
    public const string CodesExtension = "x-error-codes";

    /// <summary>
    /// What any route under <c>/api</c> may answer: a bad id, no token or one that does not grant the session, too many
    /// requests, headers too large, the store away, a failure.
    /// </summary>
    public static IReadOnlyList<StreamErrorCode> EveryRoute { get; } =
    [
        StreamErrorCode.InvalidId, StreamErrorCode.AuthenticationRequired, StreamErrorCode.AccessDenied, StreamErrorCode.RateLimited,
        StreamErrorCode.HeadersTooLarge, StreamErrorCode.InternalError, StreamErrorCode.StoreUnavailable,
    ];

    /// <summary>What a route that opens a subscription may answer besides: the caller's subscription cap, a node stopping.</summary>
    public static IReadOnlyList<StreamErrorCode> Subscribing { get; } = [StreamErrorCode.TooManySubscriptions, StreamErrorCode.ServerShuttingDown];

    /// <summary>Says which refusals the route answers, and documents each status with its codes.</summary>
    public static TBuilder Refuses<TBuilder>(this TBuilder builder, params IEnumerable<StreamErrorCode> codes) where TBuilder : IEndpointConventionBuilder
    {
        var all = EveryRoute.Concat(codes).Distinct().ToList();
        builder.WithMetadata(new RouteRefusals(all));
        foreach (var status in all.Select(code => StreamErrors.Describe(code).HttpStatus).Distinct())
        {
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), ["application/problem+json"]));
        }

        return builder;
    }

    /// <summary>Registers the document and what it adds to the generated one.</summary>
    public static IServiceCollection AddHubStreamsApiDocument(this IServiceCollection services) => services.AddOpenApi(options =>
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "HubStreams",
                Version = "v1",
                Description = "Resumable event streams of chat messages: append, read, follow (Server-Sent Events, the AI SDK's UI " +
                    "message stream), sessions. The SignalR hub at /hubs/streams is described on the API page, not here.",
            };
            AddOperationalRoutes(document);
            return Task.CompletedTask;
        });
        options.AddSchemaTransformer((schema, context, _) =>
        {
            // The one field an appended event must have (the store assigns the offset).
            if (context.JsonTypeInfo.Type == typeof(StreamEvent))
            {
                schema.Required = new HashSet<string> { "type" };
            }

            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            if (context.Description.ActionDescriptor.EndpointMetadata.OfType<RouteRefusals>().LastOrDefault() is { } refusals)
            {
                DescribeRefusals(operation, refusals.Codes);
            }

            return Task.CompletedTask;
        });
    });

    /// <summary>The codes each status of a route's problem responses stands for, in the error table's order.</summary>
    public static ILookup<int, StreamErrorCode> ByStatus(IEnumerable<StreamErrorCode> codes) =>
        StreamErrors.All.Where(row => codes.Contains(row.Code)).ToLookup(row => row.HttpStatus, row => row.Code);

    private static void DescribeRefusals(OpenApiOperation operation, IReadOnlyList<StreamErrorCode> codes)
    {
        operation.Responses ??= [];
        foreach (var group in ByStatus(codes))
        {
            var key = group.Key.ToString(CultureInfo.InvariantCulture);
            if (!operation.Responses.TryGetValue(key, out var found) || found is not OpenApiResponse response)
            {
                continue;
            }

            response.Description = $"Refused: {string.Join(", ", group)} (the code is the problem's title and its 'code').";
            response.Extensions ??= new Dictionary<string, IOpenApiExtension>();
            response.Extensions[CodesExtension] = new JsonNodeExtension(new JsonArray([.. group.Select(code => JsonValue.Create(code.ToString()))]));
        }
    }

    // /healthz, /readyz and /metrics are middleware endpoints, which the generator does not see.
    private static void AddOperationalRoutes(OpenApiDocument document)
    {
        document.Paths ??= [];
        document.Paths["/healthz"] = PlainGet("Liveness: 200 while the process serves requests.", "Operations", unavailable: false);
        document.Paths["/readyz"] = PlainGet("Readiness: 200 when the node can serve (in redis mode, Redis answers a PING within 2 s), else 503.", "Operations", unavailable: true);
        document.Paths["/metrics"] = PlainGet("The Prometheus metrics, in the text exposition format.", "Operations", unavailable: false);
    }

    private static OpenApiPathItem PlainGet(string summary, string tag, bool unavailable)
    {
        var text = new Dictionary<string, OpenApiMediaType> { ["text/plain"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String } } };
        var responses = new OpenApiResponses { ["200"] = new OpenApiResponse { Description = "OK", Content = text } };
        if (unavailable)
        {
            responses["503"] = new OpenApiResponse { Description = "Not ready", Content = text };
        }

        return new OpenApiPathItem
        {
            Operations = new Dictionary<HttpMethod, OpenApiOperation>
            {
                [HttpMethod.Get] = new() { Summary = summary, Tags = new HashSet<OpenApiTagReference> { new(tag) }, Responses = responses },
            },
        };
    }
}
