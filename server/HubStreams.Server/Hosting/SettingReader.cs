using System.Globalization;
using HubStreams.Streams;

namespace HubStreams.Server.Hosting;

/// <summary>
/// Reads settings by their environment name first, then by their key in the <c>HubStreams</c> section,
/// and collects every bad value so that start-up can name them all in one line. A value that does not parse is
/// named at once; a value that parses but breaks its options' rules is named when <see cref="Check"/> is given the
/// options' problems, under the variable that set it, in the order the variables were read.
/// </summary>
internal sealed class SettingReader(IConfiguration configuration)
{
    private readonly List<(int Order, string Text)> _problems = [];
    private readonly List<string> _variables = [];
    private readonly Dictionary<(object Options, string Property), Setting> _settings = [];

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
    /// <param name="sets">The options and property the value goes to, so that a rule it breaks is named under this variable.</param>
    public void Apply(
        string variable, string sectionKey, string accepts, Action<string> apply,
        bool secret = false, Func<string, string>? shown = null, (object Options, string Property)? sets = null)
    {
        var order = _variables.Count;
        _variables.Add(variable);
        var value = Value(variable, sectionKey);
        if (value is null)
        {
            return;
        }

        var setting = new Setting(order, variable, sectionKey, accepts, secret ? "(hidden)" : $"'{(shown ?? (v => v))(value)}'");
        try
        {
            apply(value.Trim());
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            _problems.Add((order, setting.NotValid));
            return;
        }

        if (sets is { } target)
        {
            _settings[target] = setting;
        }
    }

    /// <summary>
    /// Names each rule <paramref name="options"/> breaks: under the variable that set the value, or, for a value that
    /// no variable set, by its property.
    /// </summary>
    public void Check(object options, IEnumerable<OptionProblem> problems)
    {
        foreach (var problem in problems)
        {
            _problems.Add(_settings.TryGetValue((options, problem.Property), out var setting)
                ? (setting.Order, setting.NotValid)
                : (int.MaxValue, $"{options.GetType().Name}.{problem}."));
        }
    }

    /// <summary>A problem that involves more than one setting, such as a required one missing.</summary>
    public void AddProblem(string problem) => _problems.Add((int.MaxValue, problem));

    public void ThrowIfAnyInvalid()
    {
        if (_problems.Count > 0)
        {
            throw new HubStreamsConfigurationException(
                "Invalid configuration: " + string.Join(" ", _problems.OrderBy(p => p.Order).Select(p => p.Text)));
        }
    }

    public static int ParseInt(string value) => int.Parse(value, NumberStyles.Integer, CultureInfo.InvariantCulture);

    public static bool ParseBool(string value) => value.Trim().ToLowerInvariant() switch
    {
        "true" or "1" or "yes" => true,
        "false" or "0" or "no" => false,
        _ => throw new FormatException(),
    };

    /// <summary>A size in bytes: a whole number, or one with a binary unit (<c>512MB</c>, <c>2GiB</c>, <c>64k</c>).</summary>
    public static long ParseBytes(string value)
    {
        var text = value.Trim();
        var digits = text.Length - text.AsSpan().TrimStart("0123456789").Length;
        var unit = text[digits..].Trim().ToUpperInvariant();
        var scale = unit switch
        {
            "" or "B" => 1L,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            _ => throw new FormatException(),
        };
        return checked(long.Parse(text[..digits], NumberStyles.None, CultureInfo.InvariantCulture) * scale);
    }

    public static TimeSpan ParseDuration(string value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.ParseExact(value, "c", CultureInfo.InvariantCulture);

    // An empty value counts as unset, as compose files and shells pass unset variables as "".
    private string? Value(string variable, string sectionKey) =>
        NullIfEmpty(configuration[variable]) ?? NullIfEmpty(configuration[$"{HubStreamsSettings.SectionName}:{sectionKey}"]);

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private sealed record Setting(int Order, string Variable, string SectionKey, string Accepts, string Shown)
    {
        public string NotValid => $"{Variable} ({HubStreamsSettings.SectionName}:{SectionKey}) = {Shown} is not valid: expected {Accepts}.";
    }
}
