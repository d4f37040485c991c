using System.Globalization;
using HubStreams.Contracts;

namespace HubStreams.ClientSample;

/// <summary>The command line of the client.</summary>
internal sealed record ClientArguments(IReadOnlyList<Uri> Urls, string SessionId, string MessageId, long FromOffset, bool StartDemo)
{
    public const string Usage =
        "usage: hubstreams-client --session S --message M [--url http://localhost:5000[,http://node2:5000…]] [--from N] [--demo]\n" +
        "  --url    the server, a farm's balancer, or several nodes (comma-separated: tried in turn after a failure)\n" +
        "  --demo   start the server's demo producer on that stream first";

    /// <summary>The first address: where the demo is started.</summary>
    public Uri Url => Urls[0];

    public static bool TryParse(string[] args, out ClientArguments arguments, out string problem)
    {
        arguments = null!;
        string url = "http://localhost:5000", session = "", message = "";
        long from = 0;
        var demo = false;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name == "--demo")
            {
                demo = true;
                continue;
            }

            if (name is not ("--url" or "--session" or "--message" or "--from"))
            {
                problem = $"unknown argument '{name}'.";
                return false;
            }

            if (i + 1 >= args.Length)
            {
                problem = $"{name} needs a value.";
                return false;
            }

            var value = args[++i];
            switch (name)
            {
                case "--url": url = value; break;
                case "--session": session = value; break;
                case "--message": message = value; break;
                case "--from" when !long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out from):
                    problem = $"--from must be an offset, 0 or more, not '{value}'.";
                    return false;
            }
        }

        var urls = new List<Uri>();
        foreach (var part in url.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(part, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                problem = $"--url must be http or https addresses, not '{part}'.";
                return false;
            }

            urls.Add(uri);
        }

        if (urls.Count == 0)
        {
            problem = "--url needs an address.";
            return false;
        }

        foreach (var (flag, id) in new[] { ("--session", session), ("--message", message) })
        {
            if (!StreamIds.IsValid(id))
            {
                problem = id.Length == 0 ? $"{flag} is required." : $"{flag} must be {StreamIds.Rule}, not '{id}'.";
                return false;
            }
        }

        arguments = new ClientArguments(urls, session, message, from, demo);
        problem = "";
        return true;
    }
}
