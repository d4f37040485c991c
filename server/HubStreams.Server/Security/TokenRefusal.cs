using Microsoft.IdentityModel.Tokens;

namespace HubStreams.Server.Security;

/// <summary>Why a bearer token was refused, in words a client can act on; it never repeats the token.</summary>
internal static partial class TokenRefusal
{
    /// <summary>The reason for a 401: what was wrong with the token, or that none was sent.</summary>
    public static string Describe(Exception? failure) => failure switch
    {
        null => "No bearer token was sent: this server requires one (AUTH_MODE=jwt), as 'Authorization: Bearer …' or as access_token on the hub's URL.",
        SecurityTokenExpiredException e => $"The token expired at {e.Expires:yyyy-MM-dd'T'HH:mm:ss'Z'}: get a new one.",
        SecurityTokenNotYetValidException e => $"The token is not valid before {e.NotBefore:yyyy-MM-dd'T'HH:mm:ss'Z'} (its 'nbf'): check the clocks.",
        SecurityTokenInvalidIssuerException e => $"The token's issuer ('iss': '{e.InvalidIssuer}') is not the one this server accepts (AUTH_JWT_ISSUER).",
        SecurityTokenInvalidAudienceException e => string.IsNullOrEmpty(e.InvalidAudience)
            ? "The token's audience ('aud') is not the one this server accepts (AUTH_JWT_AUDIENCE)."
            : $"The token's audience ('aud': '{e.InvalidAudience}') is not the one this server accepts (AUTH_JWT_AUDIENCE).",
        SecurityTokenNoExpirationException => "The token has no 'exp' claim: this server accepts only tokens that expire.",
        SecurityTokenInvalidAlgorithmException => "The token is signed with an algorithm this server does not accept (HS256 with AUTH_JWT_KEY).",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException =>
            "The token's signature does not verify with this server's key (AUTH_JWT_KEY, or the keys of AUTH_JWT_AUTHORITY).",
        SecurityTokenMalformedException or ArgumentException => "The bearer token is not a well-formed JWT.",
        AggregateException { InnerExceptions: [var first, ..] } => Describe(first),
        Microsoft.AspNetCore.Authentication.AuthenticationFailureException e => $"The token was refused: {e.Message}",
        _ => $"The token was refused ({failure.GetType().Name}).",
    };

    /// <summary>Logs the refusal at Information, with the route and the reason (never the token).</summary>
    public static void Log(HttpContext context, string reason) =>
        TokenRefused(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TokenRefusal).FullName!),
            context.Request.Method, context.Request.Path, reason);

    [LoggerMessage(1, LogLevel.Information, "Bearer token refused on {Method} {Path}: {Reason}")]
    private static partial void TokenRefused(ILogger logger, string method, PathString path, string reason);
}
