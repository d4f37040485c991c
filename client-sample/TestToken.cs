using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HubStreams.Contracts;

namespace HubStreams.ClientSample;

/// <summary>
/// <c>hubstreams-client token</c>: mints an HS256 token for trying a server with <c>AUTH_MODE=jwt</c> and a shared
/// <c>AUTH_JWT_KEY</c>, with the same key, issuer and audience the server reads (from the same variables, or flags).
/// For tests and local tries only: a production deployment gets its tokens from its identity provider.
/// </summary>
internal static class TestToken
{
    public const string Usage =
        "usage: hubstreams-client token --sub USER --sessions S1,S2|* [--producer] [--lifetime SECONDS] [--key K] [--issuer I] [--audience A]\n" +
        "  --sub       who the token is for (its 'sub' claim)\n" +
        "  --sessions  the sessions it grants, comma-separated, or * for all\n" +
        "  --producer  add the 'producer' role, which appending needs\n" +
        "  --lifetime  seconds until it expires (default 3600)\n" +
        "  --key, --issuer, --audience  default to AUTH_JWT_KEY, AUTH_JWT_ISSUER, AUTH_JWT_AUDIENCE, as the server reads them";

    /// <summary>Prints the token on standard output; returns the exit code (2 on a bad argument).</summary>
    public static int Run(string[] args, Func<string, string?> environment)
    {
        if (!TryMint(args, environment, DateTimeOffset.UtcNow, out var token, out var problem))
        {
            Console.Error.WriteLine($"error: {problem}");
            Console.Error.WriteLine(Usage);
            return 2;
        }

        Console.WriteLine(token);
        return 0;
    }

    public static bool TryMint(string[] args, Func<string, string?> environment, DateTimeOffset now, out string token, out string problem)
    {
        token = "";
        string? subject = null, sessions = null;
        string? key = environment("AUTH_JWT_KEY"), issuer = environment("AUTH_JWT_ISSUER"), audience = environment("AUTH_JWT_AUDIENCE");
        var producer = false;
        long lifetime = 3600;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name == "--producer")
            {
                producer = true;
                continue;
            }

            if (name is not ("--sub" or "--sessions" or "--lifetime" or "--key" or "--issuer" or "--audience"))
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
                case "--sub": subject = value; break;
                case "--sessions": sessions = value; break;
                case "--key": key = value; break;
                case "--issuer": issuer = value; break;
                case "--audience": audience = value; break;
                case "--lifetime" when !long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out lifetime) || lifetime == 0:
                    problem = $"--lifetime must be a number of seconds, 1 or more, not '{value}'.";
                    return false;
            }
        }

        foreach (var (flag, variable, value) in new[] { ("--sub", "", subject), ("--sessions", "", sessions), ("--key", "AUTH_JWT_KEY", key),
                     ("--issuer", "AUTH_JWT_ISSUER", issuer), ("--audience", "AUTH_JWT_AUDIENCE", audience) })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                problem = variable.Length == 0 ? $"{flag} is required." : $"{flag} is required (or set {variable}, as for the server).";
                return false;
            }
        }

        var granted = sessions!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (granted is not ["*"] && granted.FirstOrDefault(id => !StreamIds.IsValid(id)) is { } bad)
        {
            problem = $"--sessions must be session ids ({StreamIds.Rule}) or *, not '{bad}'.";
            return false;
        }

        var claims = new Dictionary<string, object>
        {
            ["sub"] = subject!,
            ["sessions"] = granted is ["*"] ? "*" : granted,
            ["iss"] = issuer!,
            ["aud"] = audience!,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.ToUnixTimeSeconds() + lifetime,
        };
        if (producer)
        {
            claims["role"] = "producer";
        }

        var unsigned = $"{Base64Url("""{"alg":"HS256","typ":"JWT"}"""u8)}.{Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims))}";
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(key!), Encoding.ASCII.GetBytes(unsigned));
        token = $"{unsigned}.{Base64Url(signature)}";
        problem = "";
        return true;
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
