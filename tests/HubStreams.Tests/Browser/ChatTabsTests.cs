using System.Diagnostics;
using System.Net.Http.Json;
using HubStreams.Contracts;
using HubStreams.Tests.Fixtures;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;
using Xunit.Abstractions;

namespace HubStreams.Tests.Browser;

/// <summary>
/// The page at / in two Chromium tabs of one chat, each on another node of a farm on one Redis: an answer started in one
/// tab appears in the other and streams to its end in both, and a tab reloaded mid-answer takes it up again, knowing
/// only the chat.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class ChatTabsTests(RedisFixture redis, ITestOutputHelper output) : IAsyncLifetime
{
    private const float Timeout = 60_000;
    private HubStreamsServer _nodeA = null!;
    private HubStreamsServer _nodeB = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        var prefix = RedisFixture.UniquePrefix();
        // About 10 s an answer: room to open, watch and reload mid-answer.
        _nodeA = await HubStreamsServer.StartRedisAsync(redis, prefix, ("DEMO_CHUNK_INTERVAL", "00:00:00.040"));
        _nodeB = await HubStreamsServer.StartRedisAsync(redis, prefix, ("DEMO_CHUNK_INTERVAL", "00:00:00.040"));
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await _nodeA.DisposeAsync();
        await _nodeB.DisposeAsync();
    }

    private async Task<IPage> OpenAsync(HubStreamsServer node, string chat, string name)
    {
        var page = await (await _browser.NewContextAsync()).NewPageAsync();
        page.Console += (_, message) => output.WriteLine($"{name} console.{message.Type}: {message.Text}");
        await page.GotoAsync(new Uri(node.BaseAddress, $"/?session={chat}").ToString());
        await Expect(page.Locator("#status")).ToHaveTextAsync("connected", new() { Timeout = Timeout });
        return page;
    }

    // The answer as stored, to compare with what a tab shows: every chunk once, in order.
    private async Task<string> StoredAnswerAsync(string chat, string messageId)
    {
        using var http = _nodeA.CreateHttpClient();
        var stored = await http.GetFromJsonAsync<EventsBody>(new Uri($"/api/sessions/{chat}/messages/{messageId}/events?fromOffset=0", UriKind.Relative));
        Assert.True(stored!.Completed);
        return string.Concat(stored.Events.Where(e => e.Type == EventTypes.Answer).Select(e => e.Content));
    }

    [Fact]
    public async Task An_answer_started_in_one_tab_streams_in_the_other_and_a_reloaded_tab_takes_it_up_again()
    {
        var chat = $"chat-{Guid.NewGuid():N}";
        var tabA = await OpenAsync(_nodeA, chat, "A");
        var tabB = await OpenAsync(_nodeB, chat, "B");
        await Expect(tabB.Locator("#messages li")).ToHaveCountAsync(0);

        // Tab A starts an answer; tab B, on the other node, shows it streaming.
        await tabA.ClickAsync("#start-demo");
        var started = Stopwatch.StartNew();
        await Expect(tabA.Locator("#message-id")).Not.ToHaveValueAsync("", new() { Timeout = Timeout });
        var first = await tabA.InputValueAsync("#message-id");
        await Expect(tabB.Locator("#message-id")).ToHaveValueAsync(first, new() { Timeout = Timeout });
        await Expect(tabB.Locator("#query")).Not.ToBeEmptyAsync(new() { Timeout = Timeout });
        var appeared = started.Elapsed;
        output.WriteLine($"the answer appeared in tab B {appeared.TotalMilliseconds:F0} ms after tab A started it");
        Assert.InRange(appeared, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        await Expect(tabB.Locator($"#messages li[data-message-id='{first}']")).ToHaveAttributeAsync("data-state", "streaming");

        foreach (var tab in new[] { tabA, tabB })
        {
            await Expect(tab.Locator("#transcript")).ToHaveAttributeAsync("data-state", "complete", new() { Timeout = Timeout });
        }

        var answer = await StoredAnswerAsync(chat, first);
        Assert.Equal(answer, await tabA.Locator("#transcript").TextContentAsync());
        Assert.Equal(answer, await tabB.Locator("#transcript").TextContentAsync());
        await Expect(tabA.Locator($"#messages li[data-message-id='{first}']")).ToHaveAttributeAsync("data-state", "completed", new() { Timeout = Timeout });

        // Tab B starts the next answer; tab A is reloaded mid-answer, its address naming only the chat.
        await tabB.ClickAsync("#start-demo");
        await Expect(tabB.Locator("#message-id")).Not.ToHaveValueAsync(first, new() { Timeout = Timeout });
        var second = await tabB.InputValueAsync("#message-id");
        await Expect(tabA.Locator("#message-id")).ToHaveValueAsync(second, new() { Timeout = Timeout });
        await Expect(tabA.Locator("#transcript")).ToContainTextAsync("append-only", new() { Timeout = Timeout });
        Assert.DoesNotContain(second, tabA.Url, StringComparison.Ordinal);
        await tabA.ReloadAsync();

        await Expect(tabA.Locator("#message-id")).ToHaveValueAsync(second, new() { Timeout = Timeout });
        foreach (var tab in new[] { tabA, tabB })
        {
            await Expect(tab.Locator("#transcript")).ToHaveAttributeAsync("data-state", "complete", new() { Timeout = Timeout });
        }

        var secondAnswer = await StoredAnswerAsync(chat, second);
        Assert.Equal(secondAnswer, await tabA.Locator("#transcript").TextContentAsync());
        Assert.Equal(secondAnswer, await tabB.Locator("#transcript").TextContentAsync());
        await Expect(tabA.Locator("#messages li")).ToHaveCountAsync(2);
    }

    private sealed record EventsBody(List<StreamEvent> Events, long NextOffset, bool Completed);
}
