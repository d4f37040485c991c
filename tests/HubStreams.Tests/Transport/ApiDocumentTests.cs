using System.Text.Json;
using System.Text.RegularExpressions;
using HubStreams.Contracts;
using HubStreams.Server.Hosting;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace HubStreams.Tests.Transport;

/// <summary>
/// The OpenAPI document at <c>/openapi/v1.json</c>: valid to a real OpenAPI parser, every mapped HTTP route in it, and
/// each route's problem responses those of the error table, code by code.
/// </summary>
public sealed class ApiDocumentTests : IAsyncLifetime
{
    private HubStreamsServer _server = null!;
    private string _json = null!;

    public async Task InitializeAsync()
    {
        _server = await HubStreamsServer.StartAsync(("DEMO_ENABLED", "true"));
        using var http = _server.CreateHttpClient();
        _json = await http.GetStringAsync(new Uri(ApiDocument.Path, UriKind.Relative));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public void The_document_is_valid_openapi_to_a_real_parser()
    {
        var read = OpenApiDocument.Parse(_json, OpenApiConstants.Json, new OpenApiReaderSettings());
        Assert.NotNull(read.Document);
        Assert.Empty(read.Diagnostic!.Errors);
        Assert.Equal(OpenApiSpecVersion.OpenApi3_1, read.Diagnostic.SpecificationVersion);
        Assert.Empty(read.Document!.Validate(Microsoft.OpenApi.ValidationRuleSet.GetDefaultRuleSet()) ?? []);
        Assert.Contains("StreamEvent", read.Document.Components!.Schemas!.Keys);
        Assert.Contains("ProblemDetails", read.Document.Components.Schemas.Keys);
    }

    [Fact]
    public void Every_mapped_http_route_is_in_the_document_with_each_of_its_methods()
    {
        var paths = JsonDocument.Parse(_json).RootElement.GetProperty("paths");
        var mapped = _server.Services.GetServices<EndpointDataSource>().SelectMany(source => source.Endpoints).OfType<RouteEndpoint>()
            .Where(endpoint => endpoint.RoutePattern.RawText is { } raw && !raw.StartsWith("/hubs/", StringComparison.Ordinal)
                && raw != "/openapi/{documentName}.json")
            .ToList();
        Assert.True(mapped.Count >= 16, $"Only {mapped.Count} routes found: {string.Join(", ", mapped.Select(e => e.RoutePattern.RawText))}");
        foreach (var endpoint in mapped)
        {
            var path = PathOf(endpoint);
            Assert.True(paths.TryGetProperty(path, out var item), $"{path} is not in the document.");
            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            foreach (var method in methods)
            {
                Assert.True(item.TryGetProperty(method.ToLowerInvariant(), out _), $"{method} {path} is not in the document.");
            }
        }
    }

    [Fact]
    public void Each_routes_problem_responses_are_its_refusals_by_the_status_of_the_error_table()
    {
        var byCode = StreamErrors.All.ToDictionary(row => row.Code.ToString(), row => row.HttpStatus);
        var routes = _server.Services.GetServices<EndpointDataSource>().SelectMany(source => source.Endpoints).OfType<RouteEndpoint>()
            .Where(endpoint => endpoint.Metadata.GetMetadata<RouteRefusals>() is not null).ToList();
        Assert.True(routes.Count >= 13, $"Only {routes.Count} routes say what they refuse.");
        foreach (var endpoint in routes)
        {
            var path = PathOf(endpoint);
            var method = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Single().ToLowerInvariant();
            var documented = Refusals(path, method);
            foreach (var (status, codes) in documented)
            {
                Assert.All(codes, code => Assert.Equal(status, byCode[code]));
            }

            var refused = endpoint.Metadata.GetMetadata<RouteRefusals>()!.Codes.Select(code => code.ToString()).Order();
            Assert.Equal(refused, documented.SelectMany(pair => pair.Value).Order());
            Assert.Contains(StreamErrorCode.AuthenticationRequired.ToString(), documented[401]);
        }
    }

    // A group's empty route ends in the group's slash; the document names the path without it.
    private static string PathOf(RouteEndpoint endpoint) => "/" + endpoint.RoutePattern.RawText!.Trim('/');

    /// <summary>The document's path (a template such as <c>/api/sessions/{sessionId}</c>) that a request's path and query match.</summary>
    internal static string DocumentedPath(string json, string requestPath)
    {
        var path = requestPath.Split('?')[0];
        return JsonDocument.Parse(json).RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name)
            .Single(template => Regex.IsMatch(path, $"^{Regex.Replace(template, @"\{[^}]+\}", "[^/]+")}$"));
    }

    /// <summary>The codes each problem status of an operation lists, by status.</summary>
    internal static Dictionary<int, string[]> Refusals(string json, string path, string method)
    {
        var responses = JsonDocument.Parse(json).RootElement.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("responses");
        return responses.EnumerateObject()
            .Where(response => response.Value.TryGetProperty(ApiDocument.CodesExtension, out _))
            .ToDictionary(
                response => int.Parse(response.Name, System.Globalization.CultureInfo.InvariantCulture),
                response => response.Value.GetProperty(ApiDocument.CodesExtension).EnumerateArray().Select(code => code.GetString()!).ToArray());
    }

    private Dictionary<int, string[]> Refusals(string path, string method) => Refusals(_json, path, method);
}
