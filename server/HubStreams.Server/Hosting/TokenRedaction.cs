using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace HubStreams.Server.Hosting;

/// <summary>
/// Browsers send their token to the hub in the query string (<c>access_token=…</c>), and ASP.NET Core logs request
/// URLs (at Information when a request starts, and more at Debug and Trace). Every logger of the host therefore
/// writes through this factory, which replaces the token's value with <c>***</c> in the message and in the
/// structured values, whatever the level and the provider. The providers' own filters are untouched.
/// </summary>
internal sealed partial class TokenRedactingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    /// <summary>Makes the host's logger factory redact tokens.</summary>
    public static void Register(IServiceCollection services) =>
        services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(sp => new TokenRedactingLoggerFactory(new LoggerFactory(
            sp.GetServices<ILoggerProvider>(),
            sp.GetRequiredService<IOptionsMonitor<LoggerFilterOptions>>(),
            sp.GetService<IOptions<LoggerFactoryOptions>>(),
            sp.GetService<IExternalScopeProvider>()))));

    /// <summary>The text with every <c>access_token</c> value replaced by <c>***</c>.</summary>
    public static string Redact(string text) =>
        text.Contains("access_token", StringComparison.OrdinalIgnoreCase) ? TokenValue().Replace(text, "$1***") : text;

    public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();

    [GeneratedRegex("(access_token=)[^&\\s\"'<>]*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TokenValue();

    private sealed class RedactingLogger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!inner.IsEnabled(logLevel))
            {
                return;
            }

            var message = formatter(state, exception);
            if (!message.Contains("access_token", StringComparison.OrdinalIgnoreCase))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
                return;
            }

            inner.Log(logLevel, eventId, new RedactedState(Redact(message), state as IEnumerable<KeyValuePair<string, object?>>), exception,
                static (redacted, _) => redacted.Message);
        }
    }

    /// <summary>A log entry's state with the token taken out of its message and of every value.</summary>
    private sealed class RedactedState(string message, IEnumerable<KeyValuePair<string, object?>>? values)
        : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private readonly KeyValuePair<string, object?>[] _values =
            [.. (values ?? []).Select(v => v.Value?.ToString() is { } text && text.Contains("access_token", StringComparison.OrdinalIgnoreCase)
                ? new KeyValuePair<string, object?>(v.Key, Redact(text))
                : v)];

        public string Message { get; } = message;

        public int Count => _values.Length;

        public KeyValuePair<string, object?> this[int index] => _values[index];

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_values).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => Message;
    }
}
