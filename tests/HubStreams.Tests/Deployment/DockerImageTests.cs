using System.Text.RegularExpressions;
using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Deployment;

/// <summary>
/// The image's build stage, without a Docker engine: the files its <c>COPY</c> lines take from the build context (less
/// what <c>.dockerignore</c> leaves out) are assembled in a folder of their own, and its <c>dotnet publish</c> runs there.
/// A project that needs a file the Dockerfile does not copy fails here as it would in <c>docker compose up --build</c>.
/// </summary>
public sealed class DockerImageTests
{
    [Fact]
    public async Task The_build_stage_publishes_the_server_from_exactly_the_files_the_dockerfile_copies()
    {
        var stage = BuildStage(await File.ReadAllLinesAsync(Path.Combine(Repository.Root, "Dockerfile")));
        var ignored = (await File.ReadAllLinesAsync(Path.Combine(Repository.Root, ".dockerignore")))
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .ToList();
        Assert.DoesNotContain(ignored, pattern => pattern.StartsWith('!'));
        var exclusions = ignored.Select(IgnorePattern).ToList();

        var context = Directory.CreateTempSubdirectory("hubstreams-image-").FullName;
        try
        {
            var workdir = Path.Combine(context, "src");
            foreach (var (sources, destination) in stage.Copies)
            {
                foreach (var source in sources)
                {
                    CopyFromContext(source, Path.Combine(workdir, destination), exclusions);
                }
            }

            var output = Path.Combine(context, "app");
            var publish = stage.Publish.Replace("-o /app", $"-o '{output}'", StringComparison.Ordinal);
            Assert.Contains(output, publish, StringComparison.Ordinal);
            var run = await Shell.RunAsync(publish, workdir, timeout: TimeSpan.FromMinutes(8));
            Assert.True(run.ExitCode == 0, $"{publish}\n{run}");

            // What the server serves comes along: the page, and the JavaScript client package it imports.
            Assert.True(File.Exists(Path.Combine(output, "HubStreams.Server.dll")));
            Assert.True(File.Exists(Path.Combine(output, "wwwroot", "index.html")));
            Assert.True(File.Exists(Path.Combine(output, "wwwroot", "lib", "hubstreams-client", "index.js")));
        }
        finally
        {
            Directory.Delete(context, recursive: true);
        }
    }

    private static (List<(string[] Sources, string Destination)> Copies, string Publish) BuildStage(string[] dockerfile)
    {
        var copies = new List<(string[], string)>();
        string? publish = null;
        var stages = 0;
        foreach (var line in dockerfile.Select(l => l.Trim()))
        {
            if (line.StartsWith("FROM ", StringComparison.Ordinal) && ++stages > 1)
            {
                break;
            }

            if (line.StartsWith("COPY ", StringComparison.Ordinal))
            {
                var parts = line["COPY ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                Assert.DoesNotContain(parts, part => part.StartsWith("--", StringComparison.Ordinal));
                copies.Add((parts[..^1], parts[^1]));
            }
            else if (line.StartsWith("RUN dotnet publish ", StringComparison.Ordinal))
            {
                publish = line["RUN ".Length..];
            }
        }

        Assert.NotEmpty(copies);
        Assert.NotNull(publish);
        return (copies, publish);
    }

    private static void CopyFromContext(string source, string destination, List<Regex> exclusions)
    {
        var from = Path.Combine(Repository.Root, source.TrimEnd('/'));
        if (File.Exists(from))
        {
            // COPY a b c ./ puts each file under the destination folder.
            var target = destination.EndsWith('/') ? Path.Combine(destination, Path.GetFileName(from)) : destination;
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(from, target);
            return;
        }

        Assert.True(Directory.Exists(from), $"The Dockerfile copies {source}, which the repository does not have.");
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var inContext = Path.GetRelativePath(Repository.Root, file).Replace('\\', '/');
            if (IsIgnored(inContext, exclusions))
            {
                continue;
            }

            // COPY dir/ dest/ copies the folder's contents into dest.
            var target = Path.Combine(destination, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    // A path is left out of the context when a pattern matches it or one of the folders that hold it.
    private static bool IsIgnored(string path, List<Regex> exclusions)
    {
        var segments = path.Split('/');
        for (var i = 1; i <= segments.Length; i++)
        {
            var prefix = string.Join('/', segments[..i]);
            if (exclusions.Any(pattern => pattern.IsMatch(prefix)))
            {
                return true;
            }
        }

        return false;
    }

    // .dockerignore's patterns, as Docker reads them: relative to the context's root, '**' any number of folders.
    private static Regex IgnorePattern(string pattern)
    {
        var glob = pattern.Trim('/');
        var regex = Regex.Escape(glob)
            .Replace(@"\*\*/", "(.*/)?", StringComparison.Ordinal)
            .Replace(@"\*\*", ".*", StringComparison.Ordinal)
            .Replace(@"\*", "[^/]*", StringComparison.Ordinal)
            .Replace(@"\?", "[^/]", StringComparison.Ordinal);
        return new Regex($"^{regex}$");
    }
}
