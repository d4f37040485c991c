using HubStreams.ClientSample;

// dotnet run --project client-sample -- --url http://localhost:5000 --session S --message M [--from N] [--demo]
if (!ClientArguments.TryParse(args, out var arguments, out var problem))
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
        using var started = await http.PostAsync(new Uri($"/api/demo/sessions/{arguments.SessionId}/messages/{arguments.MessageId}", UriKind.Relative), null, cancel.Token);
        if (!started.IsSuccessStatusCode)
        {
            Console.Error.WriteLine($"error: the demo did not start: {(int)started.StatusCode} {await started.Content.ReadAsStringAsync(cancel.Token)}");
            return 1;
        }
    }

    var reader = new ResumableStreamReader([.. arguments.Urls.Select(url => new Uri(url, "/hubs/streams"))], arguments.SessionId, arguments.MessageId)
    {
        StatusChanged = EventPrinter.PrintStatus,
    };
    await foreach (var streamEvent in reader.ReadAsync(arguments.FromOffset, cancel.Token))
    {
        EventPrinter.Print(streamEvent);
    }

    return 0;
}
catch (StreamUnreadableException e)
{
    Console.Error.WriteLine($"\nerror: {e.Message}");
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
