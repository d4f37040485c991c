using System.Net.Http.Headers;
using HubStreams.Client;
using HubStreams.ClientSample;

// dotnet run --project client-sample -- --url http://localhost:5000 --session S --message M [--from N] [--compact] [--demo] [--token T]
// dotnet run --project client-sample -- token --sub USER --sessions S [--producer]   (a token to try AUTH_MODE=jwt with)
if (args is ["token", .. var tokenArguments])
{
    return TestToken.Run(tokenArguments, Environment.GetEnvironmentVariable);
}

if (!ClientArguments.TryParse(args, out var arguments, out var problem, Environment.GetEnvironmentVariable("HUBSTREAMS_TOKEN")))
{
    Console.Error.WriteLine($"error: {problem}");
    Console.Error.WriteLine(ClientArguments.Usage);
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
try
{
    if (arguments.StartDemo)
    {
        using var http = new HttpClient { BaseAddress = arguments.Url };
        if (arguments.Token is { } bearer)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        using var started = await http.PostAsync(new Uri($"/api/demo/sessions/{arguments.SessionId}/messages/{arguments.MessageId}", UriKind.Relative), null, cancel.Token);
        if (!started.IsSuccessStatusCode)
        {
            Console.Error.WriteLine($"error: the demo did not start: {(int)started.StatusCode} {await started.Content.ReadAsStringAsync(cancel.Token)}");
            return 1;
        }
    }

    var options = new HubStreamsClientOptions();
    foreach (var url in arguments.Urls)
    {
        options.HubUrls.Add(new Uri(url, "/hubs/streams"));
    }

    if (arguments.Token is { } token)
    {
        options.AccessTokenProvider = _ => Task.FromResult<string?>(token);
    }

    var client = new HubStreamsClient(options);
    await foreach (var streamEvent in client.ReadStreamAsync(
        arguments.SessionId, arguments.MessageId,
        new ReadOptions { FromOffset = arguments.FromOffset, OnStatus = EventPrinter.PrintStatus, Compact = arguments.Compact }, cancel.Token))
    {
        EventPrinter.Print(streamEvent);
    }

    return 0;
}
catch (HubStreamsException e)
{
    // The server's message starts with its code already; one the client made may not.
    var message = e.Message.StartsWith($"{e.Code}:", StringComparison.Ordinal) ? e.Message : $"{e.Code}: {e.Message}";
    Console.Error.WriteLine($"\nerror: {message}");
    return 3;
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    return 130;
}
catch (HttpRequestException e)
{
    Console.Error.WriteLine($"\nerror: {arguments.Url} cannot be reached: {e.Message}");
    return 1;
}
