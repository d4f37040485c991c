using System.Diagnostics;
using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Deployment;

/// <summary>Both compose files validate (with docker-compose; no Docker engine is needed) and name the farm's services.</summary>
public sealed class ComposeFileTests
{
    [Theory]
    [InlineData("docker-compose.yml", new[] { "balancer", "node1", "node2", "redis" })]
    [InlineData("docker-compose.dev.yml", new[] { "redis" })]
    public async Task The_compose_file_validates_and_defines_its_services(string file, string[] services)
    {
        var (exitCode, output) = await ComposeAsync(file, "config", "-q");
        Assert.True(exitCode == 0, $"docker-compose config failed for {file}: {output}");

        (exitCode, output) = await ComposeAsync(file, "config", "--services");
        Assert.Equal(0, exitCode);
        Assert.Equal(services, output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order());
    }

    [Fact]
    public async Task The_shipped_farm_matches_the_production_checklist()
    {
        var (exitCode, output) = await ComposeAsync("docker-compose.yml", "config", option: null, envFile: Path.Combine(Repository.Root, ".env.example"));
        Assert.True(exitCode == 0, output);

        // Both nodes, as compose resolves them from .env.example: tokens required, the demo off, and only the balancer trusted.
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(output, @"AUTH_MODE: [""']?jwt"));
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(output, @"DEMO_ENABLED: [""']false[""']"));
        Assert.DoesNotMatch(@"DEMO_ENABLED: [""']true", output);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(output, @"TRUSTED_PROXIES: 172\.28\.0\.10"));

        Assert.Contains("location = /metrics", await File.ReadAllTextAsync(Path.Combine(Repository.Root, "scripts", "nginx.conf")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_farm_refuses_to_start_without_a_redis_password()
    {
        var empty = Path.GetTempFileName();
        try
        {
            var (exitCode, output) = await ComposeAsync("docker-compose.yml", "config", "-q", envFile: empty);
            Assert.NotEqual(0, exitCode);
            Assert.Contains("REDIS_PASSWORD", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(empty);
        }
    }

    private static async Task<(int ExitCode, string Output)> ComposeAsync(string file, string command, string? option, string? envFile = null)
    {
        var root = Repository.Root;
        var start = new ProcessStartInfo("docker-compose")
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--env-file", envFile ?? Path.Combine(root, ".env.example"), "-f", Path.Combine(root, file), command, option }.OfType<string>())
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Remove("REDIS_PASSWORD");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return (process.ExitCode, await stdout + await stderr);
    }
}
