using System.Text.RegularExpressions;
using HubStreams.Contracts;
using HubStreams.Server.Hosting;
using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Docs;

/// <summary>The docs stay true to the code: settings, error codes, links, and where events are appended and read.</summary>
public sealed partial class DocsTests
{
    private static string Read(string relativePath) => File.ReadAllText(Path.Combine(Repository.Root, relativePath));

    public static TheoryData<string> Pages()
    {
        var pages = new TheoryData<string> { "README.md" };
        foreach (var file in Directory.GetFiles(Path.Combine(Repository.Root, "docs"), "*.md").Order())
        {
            pages.Add(Path.GetRelativePath(Repository.Root, file));
        }

        return pages;
    }

    [Fact]
    public void Every_setting_the_server_reads_is_on_the_configuration_page()
    {
        var page = Read("docs/configuration.md");
        var variables = HubStreamsSettings.VariableNames();
        Assert.NotEmpty(variables);
        Assert.All(variables, variable => Assert.Contains($"`{variable}`", page, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void Every_relative_link_resolves(string page)
    {
        var folder = Path.GetDirectoryName(Path.Combine(Repository.Root, page))!;
        foreach (Match link in MarkdownLink().Matches(Read(page)))
        {
            var target = link.Groups["target"].Value;
            if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
            {
                continue;
            }

            var (path, anchor) = target.IndexOf('#', StringComparison.Ordinal) is var hash and >= 0
                ? (target[..hash], target[(hash + 1)..])
                : (target, "");
            var file = path.Length == 0 ? Path.Combine(Repository.Root, page) : Path.GetFullPath(Path.Combine(folder, path));
            Assert.True(File.Exists(file) || Directory.Exists(file), $"{page}: the link {target} names nothing.");
            if (anchor.Length > 0)
            {
                Assert.True(Anchors(File.ReadAllText(file)).Contains(anchor), $"{page}: the link {target} names no heading of {path}.");
            }
        }
    }

    [Fact]
    public void The_readme_stays_a_front_page()
    {
        var lines = Read("README.md").Split('\n').Length;
        Assert.True(lines <= 150, $"README.md has {lines} lines.");
    }

    [Fact]
    public void The_error_table_in_the_docs_is_the_one_in_the_code()
    {
        var page = Read("docs/api.md");
        foreach (var row in StreamErrors.All)
        {
            var expected = $"| `{row.Code}` | {row.HttpStatus} | {(row.IsFinal ? "yes" : "no")} |";
            Assert.Contains(expected, page, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_javascript_package_carries_the_same_error_table()
    {
        // Generated at build (HubStreams.Contracts.csproj); this checks the generator read the table as the runtime has it.
        var module = Read("clients/js/src/error-codes.js");
        var inModule = JsErrorRow().Matches(module).Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value} {m.Groups[3].Value}").ToList();
        var inTable = StreamErrors.All.Select(row => $"{row.Code} {row.HttpStatus} {(row.IsFinal ? "true" : "false")}").ToList();
        Assert.Equal(inTable, inModule);
    }

    [Fact]
    public void The_id_rule_on_the_api_page_is_the_one_the_server_enforces()
    {
        var row = Read("docs/api.md").Split('\n').Single(line => line.StartsWith("| `InvalidId` |", StringComparison.Ordinal));
        var rule = new Regex(Regex.Match(row, @"`(\^[^`]+\$)`").Groups[1].Value);
        string[] ids = ["a", "s1", "A-b_c.d", "a.b", ".a", "a.", ".", "..", "....", "", "a:b", "a/b", "a b", "é", "{a}",
            new string('x', 128), new string('x', 129), new string('.', 128)];
        Assert.All(ids, id => Assert.True(rule.IsMatch(id) == StreamIds.IsValid(id), $"'{id}': the page says {rule.IsMatch(id)}, the server {StreamIds.IsValid(id)}."));
    }

    [Theory]
    [InlineData("Where an event is appended", "AppendAsync")]
    [InlineData("Where an event is read", "GetAsyncEnumerator")]
    public void The_architecture_page_names_one_file_that_holds_the_code(string heading, string member)
    {
        var page = Read("docs/architecture.md");
        var section = Regex.Match(page, $@"## {Regex.Escape(heading)}\n\n(?<body>.*?)(\n## |\z)", RegexOptions.Singleline);
        Assert.True(section.Success, $"No section '{heading}'.");
        var files = SourceFile().Matches(section.Groups["body"].Value).Select(m => m.Value).Distinct().ToList();
        var file = Assert.Single(files);
        Assert.Contains(member, Read(file), StringComparison.Ordinal);
    }

    // GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens.
    private static HashSet<string> Anchors(string markdown) =>
        [.. Heading().Matches(markdown).Select(m => Regex.Replace(m.Groups[1].Value.Trim().ToLowerInvariant(), @"[^\w\- ]", "").Replace(' ', '-'))];

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"(?m)^#{1,6} (.+)$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"(\w+): \{ httpStatus: (\d+), final: (true|false) \}")]
    private static partial Regex JsErrorRow();

    [GeneratedRegex(@"(server|clients|client-sample)/[\w./-]+\.cs")]
    private static partial Regex SourceFile();
}
