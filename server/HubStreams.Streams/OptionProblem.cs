namespace HubStreams.Streams;

/// <summary>
/// One option whose value breaks its rule: the property and what it accepts. Every options class of HubStreams is a
/// plain class with defaults whose rules live in one method, <c>Problems()</c>; the settings reader maps each problem
/// back to its environment variable, and the stores refuse options that have any.
/// </summary>
/// <param name="Property">The property's name, as in C#.</param>
/// <param name="Accepts">What a valid value looks like, such as <c>at least 1 ms</c>.</param>
public sealed record OptionProblem(string Property, string Accepts)
{
    /// <summary>The problem as a sentence part: <c>Ttl must be at least 1 ms</c>.</summary>
    public override string ToString() => $"{Property} must be {Accepts}";

    /// <summary>Throws one <see cref="ArgumentException"/> naming every problem of <paramref name="options"/>, if it has any.</summary>
    /// <param name="problems">The problems found.</param>
    /// <param name="options">The options' type name, for the message.</param>
    /// <exception cref="ArgumentException">There is at least one problem.</exception>
    public static void ThrowIfAny(IEnumerable<OptionProblem> problems, string options)
    {
        var found = problems.ToList();
        if (found.Count > 0)
        {
            throw new ArgumentException($"Invalid {options}: {string.Join("; ", found)}.", options);
        }
    }
}
