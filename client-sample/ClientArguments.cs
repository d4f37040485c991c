using System.Globalization;
using HubStreams.Contracts;

namespace HubStreams.ClientSample;

/// <summary>The command line of the client.</summary>
internal sealed record ClientArguments(IReadOnlyList<Uri> Urls, string SessionId, string MessageId, long FromOffset, bool StartDemo, string? Token)
{
    /// <summary>Whether to catch up compacted: the answer so far in a few events, then live.</summary>
    public bool Compact { get; init; }

    public const string Usage =
        "usage: hubstreams-client --session S --message M [--url http://localhost:5000[,http://node2:5000…]] [--from N] [--compact] [--demo] [--token T]\n" +
        "  --url    the server, a farm's balancer, or several nodes (comma-separated: tried in turn after a failure)\n" +
        "  --compact  catch up compacted: each run of stored text chunks as one event, then live\n" +
        "  --demo   start the server's demo producer on that stream first\n" +
        "  --token  an access token for a server with AUTH_MODE=jwt (or set HUBSTREAMS_TOKEN)\n" +
        "hubstreams-client token --sub USER --sessions S … mints a token to try such a server with (see its usage)";

    /// <summary>The first address: where the demo is started.</summary>
    public Uri Url => Urls[0];

    public static bool TryParse(string[] args, out ClientArguments arguments, out string problem, string? tokenFromEnvironment = null)
    {
        arguments = null!;
        string url = "http://localhost:5000", session = "", message = "";
        var token = string.IsNullOrWhiteSpace(tokenFromEnvironment) ? null : tokenFromEnvironment.Trim();
        long from = 0;
        var demo = false;
        var compact = false;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "--demo" or "--compact")
            {
                demo |= name == "--demo";
                compact |= name == "--compact";
                continue;
            }

            if (name is not ("--url" or "--session" or "--message" or "--from" or "--token"))
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
                case "--token": token = value; break;
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

        arguments = new ClientArguments(urls, session, message, from, demo, token) { Compact = compact };
        problem = "";
        return true;
    }
}
