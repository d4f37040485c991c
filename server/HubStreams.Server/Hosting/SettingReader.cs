using System.Globalization;

namespace HubStreams.Server.Hosting;

/// <summary>
/// Reads settings by their environment name first, then by their key in the <c>HubStreams</c> section,
/// and collects every bad value so that start-up can name them all in one line.
/// </summary>
internal sealed class SettingReader(IConfiguration configuration)
{
    private readonly List<string> _problems = [];
    private readonly List<string> _variables = [];

    /// <summary>Every environment variable asked for so far, in order.</summary>
    public IReadOnlyList<string> Variables => _variables;

    /// <summary>Whether a setting has a value from either source.</summary>
    public bool IsSet(string variable, string sectionKey) => Value(variable, sectionKey) is not null;

    /// <summary>Parses and applies one setting when it is set; a parse or range failure becomes a problem naming it.</summary>
    /// <param name="variable">The environment variable.</param>
    /// <param name="sectionKey">The key in the <c>HubStreams</c> section.</param>
    /// <param name="accepts">What a valid value looks like, for the error.</param>
    /// <param name="apply">Parses and applies the value.</param>
    /// <param name="secret">Whether the value is a secret: never shown.</param>
    /// <param name="shown">How to show a value that may hold a secret (a password inside a connection string).</param>
    public void Apply(string variable, string sectionKey, string accepts, Action<string> apply, bool secret = false, Func<string, string>? shown = null)
    {
        _variables.Add(variable);
        var value = Value(variable, sectionKey);
        if (value is null)
        {
            return;
        }

        try
        {
            apply(value.Trim());
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            var text = secret ? "(hidden)" : $"'{(shown ?? (v => v))(value)}'";
            _problems.Add($"{variable} ({HubStreamsSettings.SectionName}:{sectionKey}) = {text} is not valid: expected {accepts}.");
        }
    }

    /// <summary>A problem that involves more than one setting, such as a required one missing.</summary>
    public void AddProblem(string problem) => _problems.Add(problem);

    public void ThrowIfAnyInvalid()
    {
        if (_problems.Count > 0)
        {
            throw new HubStreamsConfigurationException("Invalid configuration: " + string.Join(" ", _problems));
        }
    }

    public static TimeSpan AtLeast(TimeSpan value, TimeSpan minimum)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(value, minimum);
        return value;
    }

    public static TimeSpan AtMost(TimeSpan value, TimeSpan maximum)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value, maximum);
        return value;
    }

    public static int ParseInt(string value) => int.Parse(value, NumberStyles.Integer, CultureInfo.InvariantCulture);

    public static int ParsePositiveInt(string value)
    {
        var parsed = ParseInt(value);
        ArgumentOutOfRangeException.ThrowIfLessThan(parsed, 1);
        return parsed;
    }

    public static bool ParseBool(string value) => value.Trim().ToLowerInvariant() switch
    {
        "true" or "1" or "yes" => true,
        "false" or "0" or "no" => false,
        _ => throw new FormatException(),
    };

    public static TimeSpan ParseDuration(string value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.ParseExact(value, "c", CultureInfo.InvariantCulture);

    // An empty value counts as unset, as compose files and shells pass unset variables as "".
    private string? Value(string variable, string sectionKey) =>
        NullIfEmpty(configuration[variable]) ?? NullIfEmpty(configuration[$"{HubStreamsSettings.SectionName}:{sectionKey}"]);

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
