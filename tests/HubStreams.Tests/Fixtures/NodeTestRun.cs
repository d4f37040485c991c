using System.Text.RegularExpressions;

namespace HubStreams.Tests.Fixtures;

/// <summary>What <c>node --test</c> reported: its closing counts, and the check that every test ran and passed.</summary>
public static partial class NodeTestRun
{
    /// <summary>The run's counts (<c>tests 4, pass 4, fail 0, skipped 0</c>), from its closing lines.</summary>
    public static string Summary(ShellResult run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return string.Join(", ", Counts().Matches(run.Output).Select(m => m.Value.TrimStart('#', ' ')));
    }

    /// <summary>Fails unless the run exited 0 with tests that ran, none failed and none skipped.</summary>
    public static void AssertAllPassed(ShellResult run)
    {
        ArgumentNullException.ThrowIfNull(run);
        Assert.True(run.ExitCode == 0, run.ToString());
        var summary = Summary(run);
        Assert.Contains("fail 0", summary, StringComparison.Ordinal);
        Assert.Contains("skipped 0", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("pass 0", summary, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"(?m)^# (tests|pass|fail|skipped) \d+")]
    private static partial Regex Counts();
}
