using System.Diagnostics;

namespace HubStreams.Tests.Fixtures;

/// <summary>What a command did: its exit code, its standard output, and both outputs together for messages.</summary>
public sealed record ShellResult(int ExitCode, string Output, string Errors)
{
    public override string ToString() => $"exit {ExitCode}\n{Output}\n{Errors}";
}

/// <summary>Runs a shell command as a person would type it.</summary>
public static class Shell
{
    public static async Task<ShellResult> RunAsync(
        string command, string? workingDirectory = null, IEnumerable<(string Name, string Value)>? environment = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Repository.Root,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        foreach (var (name, value) in environment ?? [])
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout ?? TimeSpan.FromMinutes(3));
        }
        catch (TimeoutException e)
        {
            // What it printed until then says where it hung.
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{command}' did not end within {(timeout ?? TimeSpan.FromMinutes(3)).TotalSeconds:F0} s. It printed:\n{await output}\n{await error}", e);
        }

        return new ShellResult(process.ExitCode, await output, await error);
    }
}
