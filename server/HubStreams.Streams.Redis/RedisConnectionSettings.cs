using System.Net;
using System.Text.RegularExpressions;
using StackExchange.Redis;

namespace HubStreams.Streams.Redis;

/// <summary>How to reach Redis: the <c>REDIS_*</c> settings.</summary>
public sealed partial class RedisConnectionSettings
{
    /// <summary>The default address.</summary>
    public const string DefaultAddress = "localhost:6379";

    // The address as read, kept with the text it was read from: every use takes it from here, so a value is parsed once.
    private ParsedAddress? _parsed;

    /// <summary>
    /// <c>REDIS_ADDR</c>: <c>host:port</c>, a StackExchange.Redis configuration string, or a URL as hosted Redis services
    /// give them, <c>redis://[user[:password]@]host[:port][/database]</c> (<c>rediss://</c> for TLS).
    /// Default <c>localhost:6379</c>.
    /// </summary>
    public string Address { get; set; } = DefaultAddress;

    /// <summary>The ACL user name (<c>REDIS_USERNAME</c>), if any.</summary>
    public string? Username { get; set; }

    /// <summary>The password (<c>REDIS_PASSWORD</c>), if any. Never logged.</summary>
    public string? Password { get; set; }

    /// <summary>The database number (<c>REDIS_DB</c>), 0 or more; when unset, the address string's, else 0.</summary>
    public int? Database { get; set; }

    /// <summary>The database in use: <see cref="Database"/>, else the address string's, else 0.</summary>
    public int EffectiveDatabase => Database ?? Parsed.DefaultDatabase ?? 0;

    /// <summary>Whether to connect with TLS (<c>REDIS_USE_TLS</c>). Default false.</summary>
    public bool UseTls { get; set; }

    /// <summary>The values that break their rules (an address that cannot be read included); empty when all are valid.</summary>
    public IEnumerable<OptionProblem> Problems()
    {
        var problems = new List<OptionProblem>();
        try
        {
            _ = Parsed;
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            problems.Add(new(nameof(Address), "host:port, a StackExchange.Redis configuration string, or a redis:// URL"));
        }

        if (Database < 0)
        {
            problems.Add(new(nameof(Database), "0 or more"));
        }

        return problems;
    }

    /// <summary>
    /// The StackExchange.Redis options: never abort on a failed connect, so the process keeps retrying
    /// in the background while Redis is away, and fail commands at once while it is.
    /// </summary>
    public ConfigurationOptions ToConfigurationOptions()
    {
        var options = Parsed.Clone();
        if (!string.IsNullOrEmpty(Username))
        {
            options.User = Username;
        }

        if (!string.IsNullOrEmpty(Password))
        {
            options.Password = Password;
        }

        if (Database is { } database)
        {
            options.DefaultDatabase = database;
        }

        if (UseTls)
        {
            options.Ssl = true;
        }

        options.AbortOnConnectFail = false;

        // While Redis is away, fail at once ("store unavailable") rather than queue commands for seconds:
        // producers learn immediately, and readers retry on their own schedule.
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ClientName ??= "hubstreams";
        return options;
    }

    /// <summary>The endpoints, for logs and error messages: no password, no user.</summary>
    public string DescribeEndpoints()
    {
        return string.Join(",", Parsed.EndPoints.Select(Format));

        static string Format(EndPoint endPoint) => endPoint switch
        {
            DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
            IPEndPoint ip => ip.ToString(),
            _ => endPoint.ToString() ?? "?",
        };
    }

    /// <summary>Removes the password from a text that might quote it, such as a driver's error message.</summary>
    public string Redact(string text)
    {
        var password = string.IsNullOrEmpty(Password) ? Parsed.Password : Password;
        return string.IsNullOrEmpty(password) ? text : text.Replace(password, "***", StringComparison.Ordinal);
    }

    /// <exception cref="FormatException">The address names no endpoint, a port that is not a port, or an unknown option.</exception>
    private ConfigurationOptions Parsed
    {
        get
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(Address);
            var parsed = _parsed;
            if (parsed is null || !string.Equals(parsed.Address, Address, StringComparison.Ordinal))
            {
                parsed = new ParsedAddress(Address, ParseAddress(Address));
                _parsed = parsed;
            }

            return parsed.Options;
        }
    }

    /// <summary>An address as it may be shown: the password in a configuration string or a URL replaced by <c>***</c>.</summary>
    public static string HideSecrets(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var hidden = PasswordOption().Replace(address, "$1***");
        return UrlPassword().Replace(hidden, "$1***@");
    }

    /// <summary>Reads an address in any of its forms.</summary>
    /// <exception cref="FormatException">It names no usable endpoint, or has an option StackExchange.Redis does not know.</exception>
    public static ConfigurationOptions ParseAddress(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        ConfigurationOptions options;
        if (address.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) || address.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase))
        {
            options = FromUrl(address);
        }
        else
        {
            try
            {
                options = ConfigurationOptions.Parse(address);
            }
            catch (ArgumentException e)
            {
                throw new FormatException(e.Message, e);
            }
        }

        if (options.EndPoints.Count == 0)
        {
            throw new FormatException("The address names no host.");
        }

        foreach (var endPoint in options.EndPoints)
        {
            var port = endPoint switch
            {
                DnsEndPoint dns when dns.Host.Contains(':', StringComparison.Ordinal) => -1,
                DnsEndPoint dns => dns.Port,
                IPEndPoint ip => ip.Port,
                _ => -1,
            };
            if (port is < 0 or > 65535)
            {
                throw new FormatException("An endpoint's port is not a number from 0 to 65535.");
            }
        }

        return options;
    }

    private static ConfigurationOptions FromUrl(string address)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out var url) || string.IsNullOrEmpty(url.Host))
        {
            throw new FormatException("The URL is not of the form redis://[user[:password]@]host[:port][/database].");
        }

        var options = new ConfigurationOptions { Ssl = url.Scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase) };
        options.EndPoints.Add(url.Host, url.IsDefaultPort || url.Port < 0 ? 6379 : url.Port);
        if (url.UserInfo.Length > 0)
        {
            var colon = url.UserInfo.IndexOf(':', StringComparison.Ordinal);
            var user = Uri.UnescapeDataString(colon < 0 ? url.UserInfo : url.UserInfo[..colon]);
            options.User = user.Length > 0 ? user : null;
            options.Password = colon < 0 ? null : Uri.UnescapeDataString(url.UserInfo[(colon + 1)..]);
        }

        var path = url.AbsolutePath.Trim('/');
        if (path.Length > 0)
        {
            options.DefaultDatabase = int.TryParse(path, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var db)
                ? db
                : throw new FormatException("The URL's path must be a database number.");
        }

        return options;
    }

    private sealed record ParsedAddress(string Address, ConfigurationOptions Options);

    [GeneratedRegex("(password=)[^,]*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex PasswordOption();

    [GeneratedRegex("^(rediss?://[^:/@]*:)[^@]*@", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UrlPassword();
}
