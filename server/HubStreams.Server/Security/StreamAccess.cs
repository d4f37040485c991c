using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using HubStreams.Streams;

namespace HubStreams.Server.Security;

/// <summary>
/// Who may do what, the same for the hub, HTTP and SSE. With <c>AUTH_MODE=jwt</c>: a token's <c>sessions</c>
/// claim (a JSON array of ids, or <c>"*"</c>) grants reading those sessions, joining them and asking them to
/// stop; appending also needs the role <c>producer</c> (the <c>role</c> claim). A refusal never says whether the
/// stream exists. Appends and stop requests are rate-limited per producer in every mode, and reads per reader.
/// </summary>
public sealed class StreamAccess : IDisposable
{
    /// <summary>The claim that lists the sessions a token may read.</summary>
    public const string SessionsClaim = "sessions";

    /// <summary>The claim that says who the caller is.</summary>
    public const string SubjectClaim = "sub";

    /// <summary>The claim type of roles.</summary>
    public const string RoleClaim = "role";

    /// <summary>The role needed to append.</summary>
    public const string ProducerRole = "producer";

    private readonly SecuritySettings _settings;
    private readonly PartitionedRateLimiter<string> _appendLimiter;
    private readonly PartitionedRateLimiter<string> _readLimiter;

    /// <summary>Creates the access rules and the per-producer append limiter.</summary>
    public StreamAccess(SecuritySettings settings)
    {
        _settings = settings;
        _appendLimiter = PerClient(settings.AppendsPerSecond, settings.AppendBurst);
        _readLimiter = PerClient(settings.ReadsPerSecond, settings.ReadBurst);
    }

    // Every append and read asks its client's partition: the partition's factory is made once here, not for each call.
    private static PartitionedRateLimiter<string> PerClient(int perSecond, int burst)
    {
        var options = new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = perSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        };
        Func<string, RateLimiter> bucket = _ => new TokenBucketRateLimiter(options);
        return PartitionedRateLimiter.Create<string, string>(client => RateLimitPartition.Get(client, bucket));
    }

    /// <summary>Whether tokens are checked at all.</summary>
    public bool Enabled => _settings.EffectiveMode == AuthMode.Jwt;

    /// <summary>Refuses unless <paramref name="user"/> may read <paramref name="sessionId"/>.</summary>
    public void EnsureCanRead(ClaimsPrincipal user, string sessionId)
    {
        if (Enabled && !Grants(user, sessionId))
        {
            throw Denied(sessionId);
        }
    }

    /// <summary>
    /// Refuses unless <paramref name="user"/> may append to <paramref name="sessionId"/> (producer role and the
    /// session granted) and is within its rate. <paramref name="clientAddress"/> identifies the producer without auth.
    /// </summary>
    public void EnsureCanAppend(ClaimsPrincipal user, string? clientAddress, string sessionId)
    {
        if (Enabled && !(user.HasClaim(RoleClaim, ProducerRole) && Grants(user, sessionId)))
        {
            throw new StreamException(StreamErrorCode.AccessDenied,
                $"Appending to session {sessionId} needs a token with the '{ProducerRole}' role that grants the session.");
        }

        EnsureWithinRate(user, clientAddress);
    }

    /// <summary>
    /// Refuses a deletion (of a message or a whole session) unless <paramref name="user"/> has the producer role and is
    /// granted the session, as for an append, and within its rate.
    /// </summary>
    public void EnsureCanDelete(ClaimsPrincipal user, string? clientAddress, string sessionId)
    {
        if (Enabled && !(user.HasClaim(RoleClaim, ProducerRole) && Grants(user, sessionId)))
        {
            throw new StreamException(StreamErrorCode.AccessDenied,
                $"Deleting in session {sessionId} needs a token with the '{ProducerRole}' role that grants the session.");
        }

        EnsureWithinRate(user, clientAddress);
    }

    /// <summary>Refuses a stop request unless the caller may read the session, and within its rate.</summary>
    public void EnsureCanStop(ClaimsPrincipal user, string? clientAddress, string sessionId)
    {
        EnsureCanRead(user, sessionId);
        EnsureWithinRate(user, clientAddress);
    }

    /// <summary>
    /// Refuses a read (a page, a subscription, stream info, joining a session) over the caller's read rate
    /// (<c>LIMIT_READS_PER_SECOND</c>, <c>LIMIT_READ_BURST</c>), counted per user, or per client address without auth.
    /// </summary>
    public void EnsureWithinReadRate(ClaimsPrincipal user, string? clientAddress)
    {
        using var lease = _readLimiter.AttemptAcquire(ClientOf(user, clientAddress));
        if (!lease.IsAcquired)
        {
            throw new StreamException(StreamErrorCode.RateLimited,
                $"Too many reads: a client may make {_settings.ReadsPerSecond} per second, {_settings.ReadBurst} at once " +
                "(LIMIT_READS_PER_SECOND, LIMIT_READ_BURST); pages, subscriptions, stream info and session joins count. Slow down and retry.");
        }
    }

    /// <summary>When the caller's token expires (its <c>exp</c>), or null without one.</summary>
    public DateTimeOffset? ExpiresAt(ClaimsPrincipal user) =>
        Enabled && long.TryParse(user.FindFirst("exp")?.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var exp)
            ? DateTimeOffset.FromUnixTimeSeconds(exp)
            : null;

    /// <summary>Whom a per-client limit counts: the user in jwt mode, else the client's address.</summary>
    public string ClientOf(ClaimsPrincipal user, string? clientAddress) => UserId(user) ?? clientAddress ?? "anonymous";

    /// <summary>Who the caller is, for per-user limits: the token's subject, or null without auth.</summary>
    public string? UserId(ClaimsPrincipal user) => Enabled ? user.FindFirst(SubjectClaim)?.Value : null;

    /// <inheritdoc />
    public void Dispose()
    {
        _appendLimiter.Dispose();
        _readLimiter.Dispose();
    }

    private static bool Grants(ClaimsPrincipal user, string sessionId) =>
        user.Identity?.IsAuthenticated == true
        && user.FindAll(SessionsClaim).Any(claim => claim.Value == "*" || claim.Value == sessionId);

    private static StreamException Denied(string sessionId) => new(StreamErrorCode.AccessDenied,
        $"The token does not grant session {sessionId}.");

    private void EnsureWithinRate(ClaimsPrincipal user, string? clientAddress)
    {
        using var lease = _appendLimiter.AttemptAcquire(ClientOf(user, clientAddress));
        if (!lease.IsAcquired)
        {
            throw new StreamException(StreamErrorCode.RateLimited,
                $"Too many appends: a producer may make {_settings.AppendsPerSecond} per second, {_settings.AppendBurst} at once " +
                "(LIMIT_APPENDS_PER_SECOND, LIMIT_APPEND_BURST). Slow down and retry.");
        }
    }
}
