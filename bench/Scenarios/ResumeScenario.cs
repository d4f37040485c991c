using System.Diagnostics;
using HubStreams.Bench.Infrastructure;
using HubStreams.Contracts;
using HubStreams.Streams;
using Microsoft.AspNetCore.SignalR.Client;
using StackExchange.Redis;

namespace HubStreams.Bench.Scenarios;

/// <summary>Time to first event when a subscriber resumes 10 events before the end of streams of 100, 10,000 and 100,000 events.</summary>
internal static class ResumeScenario
{
    public sealed record Row(string Mode, int StreamLength, int Samples, double MedianMs, double MaxMs);

    private const int Samples = 20;

    public static async Task<List<Row>> RunAsync(BenchRun run)
    {
        var rows = new List<Row>();
        await using var connection = await run.Server.ConnectAsync(Target.HubStreams);
        foreach (var length in new[] { 100, 10_000, 100_000 })
        {
            run.Report($"resume: filling a stream of {length:N0} events");
            var messageId = $"len-{length}-{Guid.NewGuid():N}";
            await FillAsync(run, connection, messageId, length);

            run.Report($"resume: {Samples} resumes at offset {length - 10:N0} of {length:N0}");
            var times = new List<double>();
            for (var i = 0; i < Samples; i++)
            {
                using var done = new CancellationTokenSource();
                var clock = Stopwatch.StartNew();
                await using var events = connection.StreamAsync<StreamEvent>("StreamEvents", "resume", messageId, (long)(length - 10), done.Token)
                    .GetAsyncEnumerator(done.Token);
                await events.MoveNextAsync();
                times.Add(clock.Elapsed.TotalMilliseconds);
                await done.CancelAsync();
            }

            times.Sort();
            rows.Add(new Row(run.Mode.ToString(), length, Samples, times[Samples / 2], times[^1]));
        }

        return rows;
    }

    private static async Task FillAsync(BenchRun run, HubConnection connection, string messageId, int length)
    {
        if (run.Redis is { } redis)
        {
            // The server's layout: a List at {prefix}:{sessionId}:{messageId}, one event JSON per element.
            var db = redis.Connection.GetDatabase();
            var key = $"stream:events:resume:{messageId}";
            var element = (RedisValue)"""{"type":"answer","content":"history","done":false}""";
            for (var done = 0; done < length; done += 10_000)
            {
                await db.ListRightPushAsync(key, Enumerable.Repeat(element, Math.Min(10_000, length - done)).ToArray());
            }

            await db.KeyExpireAsync(key, TimeSpan.FromHours(1));
            return;
        }

        for (var i = 0; i < length - 1; i++)
        {
            await connection.SendAsync("AppendEvent", "resume", messageId, BenchRun.Event("history"));
        }

        // Invocations on one connection run in order: when this one answers, the stream is full.
        await connection.InvokeAsync<long>("AppendEvent", "resume", messageId, BenchRun.Event("history"));
    }
}
