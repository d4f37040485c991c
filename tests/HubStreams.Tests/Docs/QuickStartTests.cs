using System.Text.Json;
using System.Text.RegularExpressions;
using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Docs;

/// <summary>The README's tour, run as written (against a server on a free port instead of 5000), in its order.</summary>
public sealed partial class QuickStartTests
{
    [Fact]
    public async Task The_tours_curl_and_client_commands_do_what_the_readme_says()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(Repository.Root, "README.md"));
        var commands = ShellBlocks().Matches(readme).SelectMany(block => block.Groups[1].Value.Split('\n'))
            .Select(line => line.Trim())
            .Where(line => line.StartsWith("curl ", StringComparison.Ordinal) || line.StartsWith("dotnet run --project client-sample", StringComparison.Ordinal))
            .ToList();
        Assert.Equal(5, commands.Count);

        await using var server = await ServerProcess.StartAsync(("DEMO_CHUNK_INTERVAL", "00:00:00.002"));
        var outputs = new List<string>();
        foreach (var command in commands)
        {
            var runnable = TrailingComment().Replace(command, "")
                .Replace("http://localhost:5000", server.BaseAddress.ToString().TrimEnd('/'), StringComparison.Ordinal)
                .Replace("dotnet run --project client-sample --", $"dotnet {Repository.ClientSampleDll}", StringComparison.Ordinal);
            var result = await Shell.RunAsync(runnable, timeout: TimeSpan.FromMinutes(2));
            Assert.True(result.ExitCode == 0, $"'{command}': {result}");
            outputs.Add(result.Output);
        }

        // Start the demo; follow it to the end; resume after 120; read a page from 200; the client follows its own demo.
        Assert.Equal("s1", JsonDocument.Parse(outputs[0]).RootElement.GetProperty("sessionId").GetString());
        Assert.Contains("event: complete", outputs[1], StringComparison.Ordinal);
        Assert.StartsWith("id: 121:", outputs[2], StringComparison.Ordinal);
        Assert.Equal(200, JsonDocument.Parse(outputs[3]).RootElement.GetProperty("events")[0].GetProperty("offset").GetInt64());
        Assert.Contains("resumable stream", outputs[4], StringComparison.Ordinal);
    }

    [GeneratedRegex(@"```sh\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex ShellBlocks();

    [GeneratedRegex(@"\s+#.*$")]
    private static partial Regex TrailingComment();
}
