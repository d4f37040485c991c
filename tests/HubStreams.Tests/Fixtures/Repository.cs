namespace HubStreams.Tests.Fixtures;

/// <summary>The checkout the tests run from.</summary>
public static class Repository
{
    /// <summary>The folder that holds HubStreams.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The console client as its own build made it, in the same configuration as these tests (what `dotnet run` runs).</summary>
    public static string ClientSampleDll
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            return Path.Combine(Root, "client-sample", "bin", output.Parent!.Name, output.Name, "hubstreams-client.dll");
        }
    }

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "HubStreams.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("The repository root (HubStreams.sln) was not found.");
    }
}
