using System.Diagnostics;
using HubStreams.Bench.Infrastructure;
using HubStreams.Contracts;
using HubStreams.Streams.Redis;
using Microsoft.AspNetCore.SignalR.Client;
using StackExchange.Redis;

namespace HubStreams.Bench.Scenarios;

/// <summary>
/// What a session costs: a session of 10 and of 1,000 messages (two events each, an answer and <c>complete</c>) is
/// written through the hub; then Redis commands per message (everything, commands inside scripts included: the appends,
/// the index, the announcements), how many times a message was recorded in its session's index (its <c>ZADD</c>s), the
/// index's bytes per message (<c>MEMORY USAGE</c>), and how long the HTTP listing takes, for its first page and for the
/// whole of it.
/// </summary>
internal static class SessionsScenario
{
    public sealed record Row(string Mode, int Messages, double? RedisCommandsPerMessage, double? IndexRecordsPerMessage, double? IndexBytesPerMessage,
        double FirstPageMedianMs, double FirstPageP99Ms, int Pages, double WholeListingMedianMs);

    public static async Task<List<Row>> RunAsync(BenchRun run)
    {
        var rows = new List<Row>();
        foreach (var size in new[] { 10, 1000 })
        {
            run.Report($"sessions: {size} messages");
            rows.Add(await MeasureAsync(run, size));
        }

        return rows;
    }

    private static async Task<Row> MeasureAsync(BenchRun run, int size)
    {
        var session = $"bench-session-{size}-{Guid.NewGuid():N}";
        await using var producer = await run.Server.ConnectAsync(Target.HubStreams);
        var commandsBefore = run.Redis is { } before ? await before.CommandsProcessedAsync() : 0;
        var recordsBefore = run.Redis is { } redisBefore ? await redisBefore.CallsOfAsync("zadd") : 0;
        foreach (var chunk in Enumerable.Range(0, size).Chunk(32))
        {
            await Task.WhenAll(chunk.Select(async i =>
            {
                await producer.InvokeAsync<long>("AppendEvent", session, $"m{i:D4}", BenchRun.Event("answer"));
                await producer.InvokeAsync<long>("AppendEvent", session, $"m{i:D4}", new StreamEvent { Type = EventTypes.Complete, Done = true });
            }));
        }

        double? commands = null, records = null, bytes = null;
        if (run.Redis is { } redis)
        {
            commands = (await redis.CommandsProcessedAsync() - commandsBefore) / (double)size;
            records = (await redis.CallsOfAsync("zadd") - recordsBefore) / (double)size;
            var index = new RedisStreamOptions().SessionIndexKeyFor(session);
            var usage = await redis.Connection.GetDatabase().ExecuteAsync("MEMORY", "USAGE", index);
            bytes = (long)usage / (double)size;
        }

        using var http = new HttpClient { BaseAddress = run.Server.BaseAddress };
        var first = new List<double>();
        for (var i = 0; i < (run.Quick ? 30 : 100); i++)
        {
            var started = Stopwatch.GetTimestamp();
            (await http.GetAsync($"/api/sessions/{session}/messages")).EnsureSuccessStatusCode();
            first.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        var whole = new List<double>();
        var pages = 0;
        for (var i = 0; i < (run.Quick ? 5 : 20); i++)
        {
            var started = Stopwatch.GetTimestamp();
            pages = 0;
            string? after = null;
            do
            {
                var page = (await http.GetFromJsonAsync<SessionPage>($"/api/sessions/{session}/messages" + (after is null ? "" : $"?after={Uri.EscapeDataString(after)}")))!;
                after = page.Next;
                pages++;
            }
            while (after is not null);

            whole.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        first.Sort();
        whole.Sort();
        return new Row(run.Mode.ToString(), size, commands, records, bytes, first[first.Count / 2], first[(int)(first.Count * 0.99)], pages, whole[whole.Count / 2]);
    }
}
