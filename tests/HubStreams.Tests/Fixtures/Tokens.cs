using System.IdentityModel.Tokens.Jwt;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace HubStreams.Tests.Fixtures;

/// <summary>Mints HS256 tokens the way the README shows, for a server started with <see cref="Settings"/>.</summary>
public static class Tokens
{
    public const string Key = "test-signing-key-that-is-long-enough-for-hs256-0123456789";
    public const string Issuer = "https://issuer.hubstreams.test";
    public const string Audience = "hubstreams";

    public static readonly (string Name, string Value)[] Settings =
    [
        ("AUTH_MODE", "jwt"), ("AUTH_JWT_KEY", Key), ("AUTH_JWT_ISSUER", Issuer), ("AUTH_JWT_AUDIENCE", Audience),
    ];

    /// <summary>A token for <paramref name="user"/> granting <paramref name="sessions"/> (or "*"), optionally with the producer role.</summary>
    public static string Mint(
        string? user, string[] sessions, bool producer = false, TimeSpan? lifetime = null, string key = Key, string issuer = Issuer, string audience = Audience)
    {
        var claims = new List<Claim>();
        if (user is not null)
        {
            claims.Add(new Claim("sub", user));
        }

        claims.Add(sessions is ["*"]
            ? new Claim("sessions", "*")
            : new Claim("sessions", JsonSerializer.Serialize(sessions), JsonClaimValueTypes.JsonArray));
        if (producer)
        {
            claims.Add(new Claim("role", "producer"));
        }

        var now = DateTime.UtcNow;
        var expires = now + (lifetime ?? TimeSpan.FromHours(1));
        var notBefore = expires < now ? expires.AddMinutes(-1) : now.AddSeconds(-5);
        var token = new JwtSecurityToken(issuer, audience, claims, notBefore, expires,
            new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)), SecurityAlgorithms.HmacSha256));
        return new JwtSecurityTokenHandler().WriteToken(token);
    }
}
