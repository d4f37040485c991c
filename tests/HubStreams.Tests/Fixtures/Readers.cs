using HubStreams.Client;

namespace HubStreams.Tests.Fixtures;

/// <summary>Resuming readers of the .NET client, as the tests make them.</summary>
public static class Readers
{
    public static ResumableStreamReader Read(
        IEnumerable<Uri> hubUrls, string sessionId, string messageId, long fromOffset = 0, Action<ReaderStatus>? onStatus = null,
        TimeSpan? maxRetryDelay = null, Func<CancellationToken, Task<string?>>? accessToken = null, bool compact = false,
        HubProtocol protocol = HubProtocol.Json)
    {
        var options = new HubStreamsClientOptions { AccessTokenProvider = accessToken, Protocol = protocol };
        foreach (var url in hubUrls)
        {
            options.HubUrls.Add(url);
        }

        if (maxRetryDelay is { } max)
        {
            options.MaxRetryDelay = max;
        }

        return new HubStreamsClient(options).ReadStreamAsync(sessionId, messageId, new ReadOptions { FromOffset = fromOffset, OnStatus = onStatus, Compact = compact });
    }
}
