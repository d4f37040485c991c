using System.Globalization;
using HubStreams.Bench;

// dotnet run -c Release --project bench/HubStreams.Bench -- idle [--subscribers N] [--seconds S]
var scenario = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "idle";
int Option(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

switch (scenario)
{
    case "idle":
        await IdleScenario.RunAsync(Option("--subscribers", 1000), TimeSpan.FromSeconds(Option("--seconds", 65)));
        return 0;
    default:
        Console.Error.WriteLine($"Unknown scenario '{scenario}'. Known: idle.");
        return 2;
}
