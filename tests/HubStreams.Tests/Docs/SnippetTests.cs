using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using HubStreams.Streams;
using HubStreams.Tests.Client;
using HubStreams.Tests.Fixtures;
using Xunit.Abstractions;

namespace HubStreams.Tests.Docs;

/// <summary>
/// Every C# and JavaScript snippet of the README and the client pages, compiled and run as written against a real
/// server: the C# ones in one app on the client packages, the JavaScript ones on the packed package. Only the addresses
/// change (to the test server's), and the names a page says are the application's own (<c>ct</c>, <c>tokens</c>,
/// <c>getToken()</c>, <c>model</c>, …) are given. A snippet that reads must print the answer, one that writes must
/// leave a complete stream, one that watches a session must hear a message start, and every one must end by itself.
/// </summary>
public sealed partial class SnippetTests(ITestOutputHelper output)
{
    private static readonly string[] Pages =
    [
        "README.md", "docs/client-dotnet.md", "docs/client-ai.md", "docs/client-javascript.md",
        "clients/dotnet/HubStreams.Client/README.md", "clients/js/README.md",
    ];

    private static readonly string[] ClientAssemblies = ["HubStreams.Contracts", "HubStreams.Client", "HubStreams.Client.AI"];

    private static readonly string[] ExampleHubUrls = ["https://streams.example.com/hubs/streams", "http://localhost:5000/hubs/streams"];

    /// <summary>What the given model, chat client and answer stream: a writer's stream must hold exactly this text.</summary>
    private const string GivenAnswer = "Hello, world.";

    private sealed record Snippet(string Page, int Number, string Code, IReadOnlyList<string> PageUsings)
    {
        public string Name => $"{Page} snippet {Number}";

        public string Identifier => $"Snippet{Regex.Replace(Page, @"\W", "_")}_{Number}";
    }

    private enum Kind
    {
        Reads,
        Writes,
        WatchesSession,
        JoinsSession,
        Runs,
    }

    [Fact]
    public async Task Every_csharp_snippet_compiles_and_runs_against_a_real_server()
    {
        var snippets = Extract("csharp");
        Assert.True(snippets.Count >= 7, $"Only {snippets.Count} C# snippets found.");
        var work = Directory.CreateTempSubdirectory("hubstreams-snippets-cs-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(work, "Snippets.csproj"), CSharpProject());
            await File.WriteAllTextAsync(Path.Combine(work, "Given.cs"), CSharpGiven);
            var cases = new StringBuilder();
            foreach (var snippet in snippets)
            {
                await File.WriteAllTextAsync(Path.Combine(work, $"{snippet.Identifier}.cs"), CSharpFile(snippet));
                cases.Append("    \"").Append(snippet.Identifier).Append("\" => ").Append(snippet.Identifier).Append(".RunAsync(),\n");
            }

            await File.WriteAllTextAsync(Path.Combine(work, "Program.cs"), CSharpProgram.Replace("/*cases*/", cases.ToString(), StringComparison.Ordinal));
            var built = await Shell.RunAsync("dotnet build -c Release -o out --nologo -v quiet", work, timeout: TimeSpan.FromMinutes(4));
            Assert.True(built.ExitCode == 0, $"The snippets do not compile as written:\n{built}");

            foreach (var snippet in snippets)
            {
                await RunAsync(snippet, hubUrl => $"dotnet '{Path.Combine(work, "out", "Snippets.dll")}' {snippet.Identifier}", work);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public async Task Every_javascript_snippet_runs_against_a_real_server()
    {
        var snippets = Extract("js");
        Assert.True(snippets.Count >= 6, $"Only {snippets.Count} JavaScript snippets found.");
        var work = await JsClientTests.PackedAppFolderAsync();
        try
        {
            await File.WriteAllTextAsync(Path.Combine(work, "run.mjs"), JavaScriptRunner);
            foreach (var snippet in snippets)
            {
                // The snippet as the page has it, with the address changed to the test server's.
                await RunAsync(snippet, hubUrl =>
                {
                    File.WriteAllText(Path.Combine(work, "current.mjs"), WithHubUrl(snippet.Code, hubUrl));
                    return "node run.mjs ./current.mjs";
                }, work);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Runs one snippet against a fresh server that holds what it reads, and checks what it did.</summary>
    private async Task RunAsync(Snippet snippet, Func<string, string> command, string work)
    {
        var kind = KindOf(snippet.Code);
        await using var server = await HubStreamsServer.StartAsync(("DEMO_CHUNK_INTERVAL", "00:00:00.001"));
        var hubUrl = new Uri(server.BaseAddress, "/hubs/streams").ToString();
        using var http = server.CreateHttpClient();
        if (kind == Kind.Reads)
        {
            // What the pages read: s1/m1 (the README's tour) and session-1/message-1, both complete.
            foreach (var (session, message) in new[] { ("s1", "m1"), ("session-1", "message-1") })
            {
                (await http.PostAsync(new Uri($"/api/demo/sessions/{session}/messages/{message}", UriKind.Relative), null)).EnsureSuccessStatusCode();
                await Eventually.True(async () => (await server.Streams.ReadAsync(StreamKey.Create(session, message), 0)).Completed);
            }
        }

        var started = Stopwatch.StartNew();
        using var process = Start(command(hubUrl), work, hubUrl);
        var printed = new StringBuilder();
        var reading = Task.WhenAll(
            Pump(process.StandardOutput, printed),
            Pump(process.StandardError, printed));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        if (kind is Kind.WatchesSession or Kind.JoinsSession)
        {
            // The watch hears of messages from the moment it joined: start answers in the session until it hears one.
            for (var i = 0; !process.HasExited && !timeout.IsCancellationRequested; i++)
            {
                (await http.PostAsync(new Uri($"/api/demo/sessions/session-1/messages/watched-{i}", UriKind.Relative), null)).EnsureSuccessStatusCode();
                await Task.WhenAny(process.WaitForExitAsync(timeout.Token), Task.Delay(250, timeout.Token));
            }
        }

        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }

        await reading;
        var text = printed.ToString();
        output.WriteLine($"{snippet.Name} ({kind}): exit {(process.HasExited ? process.ExitCode : -1)} after {started.Elapsed.TotalSeconds:F1} s");
        Assert.True(!timeout.IsCancellationRequested, $"{snippet.Name} did not end by itself within 90 s:\n{snippet.Code}\n{text}");
        Assert.True(process.ExitCode == 0, $"{snippet.Name} failed:\n{snippet.Code}\n{text}");
        switch (kind)
        {
            case Kind.Reads:
                Assert.True(text.Contains("resumable stream", StringComparison.Ordinal), $"{snippet.Name} printed no answer:\n{text}");
                break;
            case Kind.Writes:
                var written = await server.Streams.ReadAsync(StreamKey.Create("session-1", "message-2"), 0);
                Assert.True(written.Completed, $"{snippet.Name} left no complete stream at session-1/message-2:\n{text}");
                Assert.Equal(GivenAnswer, string.Concat(written.Events.Where(e => e.Type == "answer").Select(e => e.Content)));
                break;
            case Kind.JoinsSession:
                Assert.True(text.Contains("MessageStarted session-1/watched-", StringComparison.Ordinal), $"{snippet.Name} heard nothing:\n{text}");
                break;
            case Kind.WatchesSession:
                Assert.True(text.Contains("started session-1/watched-", StringComparison.Ordinal), $"{snippet.Name} heard nothing:\n{text}");
                break;
        }
    }

    private static Kind KindOf(string code) =>
        code.Contains("OpenWriterAsync", StringComparison.Ordinal) || code.Contains("createWriter(", StringComparison.Ordinal) ? Kind.Writes
        : code.Contains("WatchSessionAsync", StringComparison.Ordinal) ? Kind.WatchesSession
        : code.Contains("JoinSessionAsync", StringComparison.Ordinal) ? Kind.JoinsSession
        : code.Contains("ReadStreamAsync", StringComparison.Ordinal) || code.Contains("readStream(", StringComparison.Ordinal) ? Kind.Reads
        : Kind.Runs;

    private static Process Start(string command, string work, string hubUrl)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = work };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        start.Environment["SNIPPET_HUB_URL"] = hubUrl;
        return Process.Start(start)!;
    }

    private static async Task Pump(StreamReader reader, StringBuilder into)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (into)
            {
                into.AppendLine(line);
            }
        }
    }

    private static List<Snippet> Extract(string language)
    {
        var snippets = new List<Snippet>();
        foreach (var page in Pages)
        {
            var usings = new List<string>();
            var number = 0;
            foreach (Match block in CodeBlock().Matches(File.ReadAllText(Path.Combine(Repository.Root, page))))
            {
                if (block.Groups["language"].Value != language)
                {
                    continue;
                }

                var code = block.Groups["code"].Value;
                snippets.Add(new Snippet(page, ++number, code, [.. usings]));
                usings.AddRange(UsingDirective().Matches(code).Select(m => m.Value.Trim()));
            }
        }

        return snippets;
    }

    private static string WithHubUrl(string code, string hubUrl) =>
        ExampleHubUrls.Aggregate(code, (text, example) => text.Replace(example, hubUrl, StringComparison.Ordinal));

    // A page's snippets build on one another's using directives, as one program would; their statements run alone.
    private static string CSharpFile(Snippet snippet)
    {
        var code = WithHubUrl(snippet.Code, "__HUB_URL__").Replace("\"__HUB_URL__\"", "Given.HubUrl", StringComparison.Ordinal);
        var own = UsingDirective().Matches(code).Select(m => m.Value.Trim()).ToList();
        var body = UsingDirective().Replace(code, "");
        return $$"""
            {{string.Join('\n', snippet.PageUsings.Concat(own).Distinct())}}
            using static Snippets.Given;
            namespace Snippets;
            internal static class {{snippet.Identifier}}
            {
                public static async Task RunAsync()
                {
            {{body}}
                    await Task.CompletedTask;
                }
            }
            """;
    }

    private static string CSharpProject()
    {
        var bin = AppContext.BaseDirectory;
        var references = string.Join('\n', ClientAssemblies.Select(name => $"""    <Reference Include="{name}"><HintPath>{Path.Combine(bin, name + ".dll")}</HintPath></Reference>"""));
        return $"""
            <Project Sdk="Microsoft.NET.Sdk.Web">
              <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings><Nullable>enable</Nullable><StaticWebAssetsEnabled>false</StaticWebAssetsEnabled></PropertyGroup>
              <ItemGroup>
            {references}
                <PackageReference Include="Microsoft.AspNetCore.SignalR.Client" Version="10.0.15" />
                <PackageReference Include="Microsoft.Extensions.AI.Abstractions" Version="10.11.0" />
              </ItemGroup>
            </Project>
            """;
    }

    private const string CSharpProgram = """
        using Snippets;

        Console.SetOut(new WatchingWriter(Console.Out));
        try
        {
            await (args[0] switch
            {
        /*cases*/
                _ => throw new ArgumentException($"no snippet {args[0]}"),
            });
            return 0;
        }
        catch (OperationCanceledException) when (Given.HeardNotification)
        {
            // A session watch runs until cancelled: it was, once it had printed a notification.
            return 0;
        }
        """;

    private const string CSharpGiven = """
        using System.Runtime.CompilerServices;
        using HubStreams.Client;
        using Microsoft.Extensions.AI;

        namespace Snippets;

        /// <summary>The names the pages say are the application's own.</summary>
        public static class Given
        {
            private static readonly CancellationTokenSource Cancel = new(TimeSpan.FromSeconds(80));

            public static string HubUrl => Environment.GetEnvironmentVariable("SNIPPET_HUB_URL")!;
            public static bool HeardNotification { get; private set; }
            public static CancellationToken ct => Cancel.Token;
            public static readonly Tokens tokens = new();
            public static readonly ILogger logger = LoggerFactory.Create(_ => { }).CreateLogger("snippet");
            public static readonly string[] answer = ["Hello", ", ", "world", "."];
            public static HubStreamsClient client => new(new HubStreamsClientOptions { HubUrls = { new Uri(HubUrl) } });
            public static HubStreamsClient hubStreams => client;
            public static readonly string sessionId = "session-1";
            public static readonly string messageId = "message-2";
            public static readonly IChatClient chatClient = new ScriptedChatClient(answer);
            public static readonly List<ChatMessage> messages = [new(ChatRole.User, "Say hello.")];
            public static readonly ChatOptions options = new();
            public static readonly HostApplicationBuilder builder = CreateBuilder();

            private static HostApplicationBuilder CreateBuilder()
            {
                var created = Host.CreateApplicationBuilder();
                created.Configuration["HubStreams:Url"] = HubUrl;
                return created;
            }

            internal static void Heard()
            {
                HeardNotification = true;
                Cancel.Cancel();
            }
        }

        /// <summary>An open test server needs no token.</summary>
        public sealed class Tokens
        {
            public Task<string?> GetTokenAsync(CancellationToken cancellationToken) => Task.FromResult<string?>(null);
        }

        /// <summary>Cancels <see cref="Given.ct"/> once a session notification was printed.</summary>
        public sealed class WatchingWriter(TextWriter inner) : TextWriter
        {
            public override System.Text.Encoding Encoding => inner.Encoding;
            public override void Write(char value) => inner.Write(value);
            public override void Write(string? value) => inner.Write(value);
            public override void WriteLine(string? value)
            {
                inner.WriteLine(value);
                inner.Flush();
                if (value?.StartsWith("MessageStarted ", StringComparison.Ordinal) == true || value?.StartsWith("started ", StringComparison.Ordinal) == true) Given.Heard();
            }
        }

        /// <summary>A chat client that streams the given answer, as a model would.</summary>
        public sealed class ScriptedChatClient(string[] chunks) : IChatClient
        {
            public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
                IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
            {
                foreach (var chunk in chunks)
                {
                    await Task.Yield();
                    yield return new ChatResponseUpdate(ChatRole.Assistant, chunk);
                }
            }

            public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
                GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

            public object? GetService(Type serviceType, object? serviceKey = null) => null;

            public void Dispose()
            {
            }
        }
        """;

    // Gives the names the page says are the application's own, runs the snippet, then lets the given connection go.
    private const string JavaScriptRunner = """
        import { createConnection, connect, disconnect } from "@hubstreams/client";

        const answer = ["Hello", ", ", "world", "."];
        globalThis.getToken = () => "";
        globalThis.render = event => console.log("event", event.offset, event.type);
        globalThis.showStatus = status => console.log("status", status);
        globalThis.done = () => console.log("done");
        globalThis.fail = code => console.log("failed", code);
        globalThis.model = (async function* () { for (const chunk of answer) yield chunk; })();
        globalThis.connection = createConnection(process.env.SNIPPET_HUB_URL);
        await connect(globalThis.connection);
        await import(process.argv[2]);
        await disconnect(globalThis.connection);
        """;

    [GeneratedRegex(@"```(?<language>\w+)\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();

    [GeneratedRegex(@"(?m)^using [A-Za-z][\w.]*;[ \t]*$")]
    private static partial Regex UsingDirective();
}
