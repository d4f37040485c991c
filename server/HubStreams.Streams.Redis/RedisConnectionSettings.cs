using System.Net;
using StackExchange.Redis;

namespace HubStreams.Streams.Redis;

/// <summary>How to reach Redis: the <c>REDIS_*</c> settings.</summary>
public sealed class RedisConnectionSettings
{
    /// <summary>The default address.</summary>
    public const string DefaultAddress = "localhost:6379";

    private string _address = DefaultAddress;
    private int? _database;

    /// <summary>
    /// <c>host:port</c>, or a full StackExchange.Redis configuration string (<c>REDIS_ADDR</c>).
    /// Default <c>localhost:6379</c>.
    /// </summary>
    public string Address
    {
        get => _address;
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            _address = value;
        }
    }

    /// <summary>The ACL user name (<c>REDIS_USERNAME</c>), if any.</summary>
    public string? Username { get; set; }

    /// <summary>The password (<c>REDIS_PASSWORD</c>), if any. Never logged.</summary>
    public string? Password { get; set; }

    /// <summary>The database number (<c>REDIS_DB</c>), 0 or more; when unset, the address string's, else 0.</summary>
    public int? Database
    {
        get => _database;
        set
        {
            if (value is { } db)
            {
                ArgumentOutOfRangeException.ThrowIfNegative(db);
            }

            _database = value;
        }
    }

    /// <summary>The database in use: <see cref="Database"/>, else the address string's, else 0.</summary>
    public int EffectiveDatabase => Database ?? ConfigurationOptions.Parse(Address).DefaultDatabase ?? 0;

    /// <summary>Whether to connect with TLS (<c>REDIS_USE_TLS</c>). Default false.</summary>
    public bool UseTls { get; set; }

    /// <summary>
    /// The StackExchange.Redis options: never abort on a failed connect, so the process keeps retrying
    /// in the background while Redis is away, and fail commands at once while it is.
    /// </summary>
    public ConfigurationOptions ToConfigurationOptions()
    {
        var options = ConfigurationOptions.Parse(Address);
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
        try
        {
            var endpoints = ConfigurationOptions.Parse(Address).EndPoints.Select(Format);
            return string.Join(",", endpoints);
        }
        catch (Exception e) when (e is ArgumentException or RedisConnectionException)
        {
            return "(unparseable REDIS_ADDR)";
        }

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
        var password = string.IsNullOrEmpty(Password) ? TryParsePassword() : Password;
        return string.IsNullOrEmpty(password) ? text : text.Replace(password, "***", StringComparison.Ordinal);
    }

    private string? TryParsePassword()
    {
        try
        {
            return ConfigurationOptions.Parse(Address).Password;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
