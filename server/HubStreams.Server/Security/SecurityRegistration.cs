using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;

namespace HubStreams.Server.Security;

/// <summary>Registers authentication (JWT bearer in jwt mode), the streams policy, the access rules and limits.</summary>
internal static class SecurityRegistration
{
    /// <summary>The policy every stream operation needs: an authenticated caller in jwt mode, anyone otherwise.</summary>
    public const string StreamsPolicy = "streams";

    /// <summary>Where browsers may send the token as <c>access_token</c> (WebSockets cannot carry headers).</summary>
    public const string HubPath = "/hubs/streams";

    public static IServiceCollection AddHubStreamsSecurity(this IServiceCollection services, SecuritySettings security)
    {
        services.AddSingleton(security);
        services.AddSingleton<StreamAccess>();
        services.AddSingleton<ConnectionLimits>();
        services.AddSingleton<PendingConnections>();

        if (security.EffectiveMode != AuthMode.Jwt)
        {
            services.AddAuthentication();
            services.AddAuthorizationBuilder().AddPolicy(StreamsPolicy, policy => policy.RequireAssertion(_ => true));
            return services;
        }

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(options =>
        {
            options.MapInboundClaims = false;
            if (security.JwtAuthority is not null)
            {
                options.Authority = security.JwtAuthority;
            }

            options.TokenValidationParameters = new TokenValidationParameters
            {
                ValidateIssuer = true,
                ValidIssuer = security.JwtIssuer,
                ValidateAudience = true,
                ValidAudience = security.JwtAudience,
                ValidateLifetime = true,
                RequireExpirationTime = true,
                ClockSkew = security.ClockSkew,
                NameClaimType = "sub",
                RoleClaimType = StreamAccess.RoleClaim,
            };
            if (security.JwtKey is not null)
            {
                options.TokenValidationParameters.IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(security.JwtKey));
                options.TokenValidationParameters.ValidAlgorithms = [SecurityAlgorithms.HmacSha256];
            }

            options.Events = new JwtBearerEvents
            {
                // SignalR's documented way for browsers: the token in the query string, on the hub's path only.
                OnMessageReceived = context =>
                {
                    var token = context.Request.Query["access_token"];
                    if (!string.IsNullOrEmpty(token) && context.HttpContext.Request.Path.StartsWithSegments(HubPath, StringComparison.Ordinal))
                    {
                        context.Token = token;
                    }

                    return Task.CompletedTask;
                },

                // A refused token is answered with why (never the token), in the 401's problem body and in the log.
                OnChallenge = context =>
                {
                    var reason = TokenRefusal.Describe(context.AuthenticateFailure);
                    context.HttpContext.Items[Errors.ProblemResponses.AuthenticationFailureItem] = reason;
                    TokenRefusal.Log(context.HttpContext, reason);
                    return Task.CompletedTask;
                },

                // Per-user limits count by subject: a token that does not say who it is would escape them, so it is refused.
                OnTokenValidated = context =>
                {
                    if (string.IsNullOrWhiteSpace(context.Principal?.FindFirst(StreamAccess.SubjectClaim)?.Value))
                    {
                        context.Fail("The token has no 'sub' claim.");
                    }

                    return Task.CompletedTask;
                },
            };
        });
        services.AddAuthorizationBuilder().AddPolicy(StreamsPolicy, policy => policy
            .AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme)
            .RequireAuthenticatedUser());
        return services;
    }
}
