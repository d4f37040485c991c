using System.Net.Http.Json;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;
using Xunit.Abstractions;

namespace HubStreams.Tests.Browser;

/// <summary>
/// The page at / in a real Chromium: start the demo, drop the connection (the Drop button, then the
/// browser going offline), and the transcript still ends up as every answer chunk exactly once.
/// </summary>
public sealed class PageResumeTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const float Timeout = 60_000;
    private HubStreamsServer _server = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        // A slower demo (about 10 s) leaves room for two drops mid-stream.
        _server = await HubStreamsServer.StartAsync(("DEMO_CHUNK_INTERVAL", "00:00:00.040"));
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium",
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
            ],
        });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task The_transcript_survives_a_dropped_connection_and_going_offline_with_nothing_lost_or_repeated()
    {
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 900 } });
        var page = await context.NewPageAsync();
        page.Console += (_, message) => output.WriteLine($"console.{message.Type}: {message.Text}");
        await page.GotoAsync(_server.BaseAddress.ToString());
        await Expect(page.Locator("#status")).ToHaveTextAsync("connected", new() { Timeout = Timeout });

        await page.ClickAsync("#start-demo");
        var transcript = page.Locator("#transcript");
        await Expect(transcript).ToContainTextAsync("append-only", new() { Timeout = Timeout });

        // Drop with the button.
        await page.ClickAsync("#drop");
        await Expect(page.Locator("#status")).ToContainTextAsync("resumed at offset", new() { Timeout = Timeout });
        var firstResume = await page.Locator("#status").TextContentAsync();
        await SaveScreenshotAsync(page, "page-mid-stream.png");

        // Drop by going offline, mid-stream, then come back.
        await context.SetOfflineAsync(true);
        await Expect(page.Locator("#status")).ToHaveTextAsync("reconnecting", new() { Timeout = Timeout });
        await Task.Delay(TimeSpan.FromSeconds(1)); // The producer goes on while the browser is offline.
        await context.SetOfflineAsync(false);
        await Expect(page.Locator("#status")).Not.ToHaveTextAsync(firstResume!, new() { Timeout = Timeout });
        await Expect(page.Locator("#status")).ToContainTextAsync("resumed at offset", new() { Timeout = Timeout });
        output.WriteLine($"resumed twice: '{firstResume}', then '{await page.Locator("#status").TextContentAsync()}'");

        await Expect(transcript).ToHaveAttributeAsync("data-state", "complete", new() { Timeout = Timeout });

        // Once complete, the status still says where the stream last resumed; the tool call is shown; Start is back, Stop is not.
        await Expect(page.Locator("#status")).ToContainTextAsync("complete at offset", new() { Timeout = Timeout });
        await Expect(page.Locator("#status")).ToContainTextAsync("resumed at offset");
        await Expect(page.Locator("#tools")).ToContainTextAsync("search_docs(query: \"resumable event stream offsets\") → 2 documents found");
        await Expect(page.Locator("#start-demo")).ToBeEnabledAsync();
        await Expect(page.Locator("#stop")).ToBeDisabledAsync();
        await SaveScreenshotAsync(page, "page-complete.png");

        var sessionId = await page.InputValueAsync("#session-id");
        var messageId = await page.InputValueAsync("#message-id");
        using var http = _server.CreateHttpClient();
        var stored = await http.GetFromJsonAsync<EventsBody>(new Uri($"/api/sessions/{sessionId}/messages/{messageId}/events?fromOffset=0", UriKind.Relative));
        var expected = string.Concat(stored!.Events.Where(e => e.Type == EventTypes.Answer).Select(e => e.Content));
        Assert.True(stored.Completed);
        Assert.Equal(expected, await transcript.TextContentAsync());
        Assert.Equal(stored.Events.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), await page.Locator("#event-count").TextContentAsync());
        await context.DisposeAsync();
    }

    [Fact]
    public async Task Stopping_a_finished_answer_says_so_in_words_and_the_page_fits_a_narrow_screen()
    {
        var key = StreamKey.Create("page-session", "finished-answer");
        await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = "Done." });
        await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Complete });
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 400, Height = 860 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(_server.BaseAddress.ToString());
        await Expect(page.Locator("#status")).ToHaveTextAsync("connected", new() { Timeout = Timeout });
        await Expect(page.Locator("#stop")).ToBeDisabledAsync();

        // Another tab's answer, finished: the page does not know, and Stop asks the server.
        await page.FillAsync("#session-id", key.SessionId);
        await page.FillAsync("#message-id", key.MessageId);
        await page.ClickAsync("#stop");
        await Expect(page.Locator("#status")).ToHaveTextAsync("the answer is already complete: there is nothing to stop", new() { Timeout = Timeout });

        // One column, nothing wider than the screen.
        await page.ClickAsync("#follow");
        await Expect(page.Locator("#transcript")).ToHaveAttributeAsync("data-state", "complete", new() { Timeout = Timeout });
        Assert.True(await page.EvaluateAsync<int>("document.documentElement.scrollWidth") <= 400);
        var chat = await page.Locator(".chat").BoundingBoxAsync();
        var events = await page.Locator("aside").BoundingBoxAsync();
        Assert.True(events!.Y >= chat!.Y + chat.Height, "the events column sits below the answer on a narrow screen");
        await SaveScreenshotAsync(page, "page-narrow.png");
        await context.DisposeAsync();
    }

    private async Task SaveScreenshotAsync(IPage page, string name)
    {
        var directory = Path.Combine(Repository.Root, "TestResults", "screenshots");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, name);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        output.WriteLine($"screenshot: {path}");
    }

    private sealed record EventsBody(List<StreamEvent> Events, long NextOffset, bool Completed);
}
