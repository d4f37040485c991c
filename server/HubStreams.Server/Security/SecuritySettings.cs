using System.Text;
using HubStreams.Server.Hosting;
using HubStreams.Streams;

namespace HubStreams.Server.Security;

/// <summary>How callers prove who they are.</summary>
public enum AuthMode
{
    /// <summary>No authentication: every caller may do everything. For development, or behind a trusted gateway.</summary>
    None,
    /// <summary>JWT bearer tokens: a <c>sessions</c> claim grants reading, the <c>producer</c> role grants appending.</summary>
    Jwt,
}

/// <summary>Authentication and the limits that keep one caller from taking the server down.</summary>
public sealed class SecuritySettings
{
    /// <summary>The shortest HS256 key accepted, in bytes.</summary>
    public const int MinKeyBytes = 32;

    /// <summary>
    /// <c>AUTH_MODE</c>: <c>none</c> or <c>jwt</c>. Null when not set: Development then runs with <c>none</c>,
    /// and Production refuses to start, so nobody deploys an open server by accident.
    /// </summary>
    public AuthMode? Mode { get; set; }

    /// <summary>The mode in force: <see cref="Mode"/>, or <see cref="AuthMode.None"/> when it is not set.</summary>
    public AuthMode EffectiveMode => Mode ?? AuthMode.None;

    /// <summary><c>AUTH_JWT_KEY</c>: the HS256 shared secret, at least <see cref="MinKeyBytes"/> bytes. Never logged.</summary>
    public string? JwtKey { get; set; }

    /// <summary><c>AUTH_JWT_AUTHORITY</c>: an OpenID Connect authority whose discovery document gives the signing keys.</summary>
    public string? JwtAuthority { get; set; }

    /// <summary><c>AUTH_JWT_ISSUER</c>: the <c>iss</c> a token must carry.</summary>
    public string? JwtIssuer { get; set; }

    /// <summary><c>AUTH_JWT_AUDIENCE</c>: the <c>aud</c> a token must carry.</summary>
    public string? JwtAudience { get; set; }

    /// <summary>
    /// <c>AUTH_JWT_CLOCK_SKEW</c>: how far a token's <c>exp</c> and <c>nbf</c> may be off the server's clock and still be
    /// accepted, from 0 to 5 minutes. Default 5 seconds.
    /// </summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// <c>TRUSTED_PROXIES</c>: the balancers and proxies whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are
    /// believed, as addresses or networks (<c>10.0.0.5</c>, <c>10.0.0.0/8</c>), comma-separated. Empty (the default):
    /// forwarded headers are ignored, and a client is the address it connects from.
    /// </summary>
    public IReadOnlyList<System.Net.IPNetwork> TrustedProxies { get; set; } = [];

    /// <summary><c>LIMIT_SUBSCRIPTIONS_PER_CONNECTION</c>: concurrent hub streams on one connection. At least 1; default 16.</summary>
    public int MaxSubscriptionsPerConnection { get; set; } = 16;

    /// <summary><c>LIMIT_SUBSCRIPTIONS_PER_USER</c>: concurrent subscriptions of one user (<c>sub</c>), hub and SSE together, on one node, in jwt mode. At least 1; default 64.</summary>
    public int MaxSubscriptionsPerUser { get; set; } = 64;

    /// <summary><c>LIMIT_CONNECTIONS_PER_USER</c>: concurrent hub connections of one user (<c>sub</c>) on one node, in jwt mode. At least 1; default 32.</summary>
    public int MaxConnectionsPerUser { get; set; } = 32;

    /// <summary><c>LIMIT_SESSIONS_PER_CONNECTION</c>: sessions one hub connection has joined at once (<c>JoinSession</c>). At least 1; default 32.</summary>
    public int MaxSessionsPerConnection { get; set; } = 32;

    /// <summary><c>LIMIT_SESSIONS_PER_USER</c>: sessions one user (<c>sub</c>) has joined at once on one node, over all its connections, in jwt mode. At least 1; default 256.</summary>
    public int MaxSessionsPerUser { get; set; } = 256;

    /// <summary>
    /// <c>LIMIT_PENDING_CONNECTIONS</c>: hub connections negotiated and not yet connected, per client (the user in jwt
    /// mode, the client's address without auth) on one node. At least 1; default 64.
    /// </summary>
    public int MaxPendingConnections { get; set; } = 64;

    /// <summary><c>LIMIT_APPENDS_PER_SECOND</c>: sustained appends per producer (user, or client address without auth). At least 1; default 1000.</summary>
    public int AppendsPerSecond { get; set; } = 1000;

    /// <summary><c>LIMIT_APPEND_BURST</c>: appends a producer may make at once above the sustained rate. At least 1; default 2000.</summary>
    public int AppendBurst { get; set; } = 2000;

    /// <summary>The values that break their rules; empty when every value is valid.</summary>
    public IEnumerable<OptionProblem> Problems()
    {
        if (JwtKey is not null && Encoding.UTF8.GetByteCount(JwtKey) < MinKeyBytes)
        {
            yield return new(nameof(JwtKey), $"an HS256 secret of at least {MinKeyBytes} bytes");
        }

        if (ClockSkew < TimeSpan.Zero || ClockSkew > TimeSpan.FromMinutes(5))
        {
            yield return new(nameof(ClockSkew), "from 0 to 00:05:00");
        }

        foreach (var (name, value) in new[]
        {
            (nameof(MaxSubscriptionsPerConnection), MaxSubscriptionsPerConnection),
            (nameof(MaxSubscriptionsPerUser), MaxSubscriptionsPerUser),
            (nameof(MaxConnectionsPerUser), MaxConnectionsPerUser),
            (nameof(MaxPendingConnections), MaxPendingConnections),
            (nameof(MaxSessionsPerConnection), MaxSessionsPerConnection),
            (nameof(MaxSessionsPerUser), MaxSessionsPerUser),
            (nameof(AppendsPerSecond), AppendsPerSecond),
            (nameof(AppendBurst), AppendBurst),
            (nameof(ReadsPerSecond), ReadsPerSecond),
            (nameof(ReadBurst), ReadBurst),
        })
        {
            if (value < 1)
            {
                yield return new(name, "at least 1");
            }
        }
    }

    /// <summary>
    /// <c>LIMIT_READS_PER_SECOND</c>: sustained reads per client (user, or client address without auth): HTTP pages,
    /// SSE and hub subscriptions opened, stream info, sessions joined. At least 1; default 100.
    /// </summary>
    public int ReadsPerSecond { get; set; } = 100;

    /// <summary><c>LIMIT_READ_BURST</c>: reads a client may make at once above the sustained rate. At least 1; default 500.</summary>
    public int ReadBurst { get; set; } = 500;

    private static System.Net.IPNetwork ParseNetwork(string value) => value.Contains('/', StringComparison.Ordinal)
        ? System.Net.IPNetwork.Parse(value)
        : new System.Net.IPNetwork(System.Net.IPAddress.Parse(value), System.Net.IPAddress.Parse(value).AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);

    internal void Read(SettingReader reader)
    {
        reader.Apply("AUTH_MODE", "AuthMode", "'none' or 'jwt'", v => Mode = v.ToLowerInvariant() switch
        {
            "none" => AuthMode.None,
            "jwt" => AuthMode.Jwt,
            _ => throw new FormatException(),
        });
        reader.Apply("AUTH_JWT_KEY", "AuthJwtKey", $"an HS256 secret of at least {MinKeyBytes} bytes", v => JwtKey = v,
            secret: true, sets: (this, nameof(JwtKey)));
        reader.Apply("AUTH_JWT_AUTHORITY", "AuthJwtAuthority", "an http or https URL", v =>
            JwtAuthority = Uri.TryCreate(v, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" ? v : throw new FormatException());
        reader.Apply("AUTH_JWT_CLOCK_SKEW", "AuthJwtClockSkew", "a duration from 0 to 00:05:00, or whole seconds",
            v => ClockSkew = SettingReader.ParseDuration(v), sets: (this, nameof(ClockSkew)));
        reader.Apply("AUTH_JWT_ISSUER", "AuthJwtIssuer", "the issuer tokens carry", v => JwtIssuer = v);
        reader.Apply("AUTH_JWT_AUDIENCE", "AuthJwtAudience", "the audience tokens carry", v => JwtAudience = v);
        reader.Apply("TRUSTED_PROXIES", "TrustedProxies", "IP addresses or networks (10.0.0.0/8), comma-separated",
            v => TrustedProxies = [.. v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseNetwork)]);
        reader.Apply("LIMIT_SUBSCRIPTIONS_PER_CONNECTION", "LimitSubscriptionsPerConnection", "an integer 1 or more",
            v => MaxSubscriptionsPerConnection = SettingReader.ParseInt(v), sets: (this, nameof(MaxSubscriptionsPerConnection)));
        reader.Apply("LIMIT_SUBSCRIPTIONS_PER_USER", "LimitSubscriptionsPerUser", "an integer 1 or more",
            v => MaxSubscriptionsPerUser = SettingReader.ParseInt(v), sets: (this, nameof(MaxSubscriptionsPerUser)));
        reader.Apply("LIMIT_CONNECTIONS_PER_USER", "LimitConnectionsPerUser", "an integer 1 or more",
            v => MaxConnectionsPerUser = SettingReader.ParseInt(v), sets: (this, nameof(MaxConnectionsPerUser)));
        reader.Apply("LIMIT_SESSIONS_PER_CONNECTION", "LimitSessionsPerConnection", "an integer 1 or more",
            v => MaxSessionsPerConnection = SettingReader.ParseInt(v), sets: (this, nameof(MaxSessionsPerConnection)));
        reader.Apply("LIMIT_SESSIONS_PER_USER", "LimitSessionsPerUser", "an integer 1 or more",
            v => MaxSessionsPerUser = SettingReader.ParseInt(v), sets: (this, nameof(MaxSessionsPerUser)));
        reader.Apply("LIMIT_PENDING_CONNECTIONS", "LimitPendingConnections", "an integer 1 or more",
            v => MaxPendingConnections = SettingReader.ParseInt(v), sets: (this, nameof(MaxPendingConnections)));
        reader.Apply("LIMIT_APPENDS_PER_SECOND", "LimitAppendsPerSecond", "an integer 1 or more",
            v => AppendsPerSecond = SettingReader.ParseInt(v), sets: (this, nameof(AppendsPerSecond)));
        reader.Apply("LIMIT_APPEND_BURST", "LimitAppendBurst", "an integer 1 or more",
            v => AppendBurst = SettingReader.ParseInt(v), sets: (this, nameof(AppendBurst)));
        reader.Apply("LIMIT_READS_PER_SECOND", "LimitReadsPerSecond", "an integer 1 or more",
            v => ReadsPerSecond = SettingReader.ParseInt(v), sets: (this, nameof(ReadsPerSecond)));
        reader.Apply("LIMIT_READ_BURST", "LimitReadBurst", "an integer 1 or more",
            v => ReadBurst = SettingReader.ParseInt(v), sets: (this, nameof(ReadBurst)));

        if (Mode == AuthMode.Jwt)
        {
            if (JwtKey is null && JwtAuthority is null && !reader.IsSet("AUTH_JWT_KEY", "AuthJwtKey"))
            {
                reader.AddProblem("AUTH_MODE=jwt needs AUTH_JWT_KEY (an HS256 secret) or AUTH_JWT_AUTHORITY (OpenID Connect discovery).");
            }

            if (JwtIssuer is null)
            {
                reader.AddProblem("AUTH_MODE=jwt needs AUTH_JWT_ISSUER.");
            }

            if (JwtAudience is null)
            {
                reader.AddProblem("AUTH_MODE=jwt needs AUTH_JWT_AUDIENCE.");
            }
        }
    }
}
