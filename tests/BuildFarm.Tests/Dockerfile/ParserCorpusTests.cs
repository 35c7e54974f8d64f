using System.Text.Json;
using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Syntax;

namespace BuildFarm.Tests.Dockerfile;

/// <summary>BuildKit's parser cases (testfiles, negative cases, line numbers, parser-cases.json).</summary>
public class ParserCorpusTests
{
    public static TheoryData<string> PositiveCases()
    {
        var data = new TheoryData<string>();
        foreach (var dir in Directory.GetDirectories(Corpus.PathOf("buildkit-parser", "testfiles")).OrderBy(d => d, StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(dir));
        }
        return data;
    }

    [Fact]
    public void Corpus_has_all_33_positive_cases() => Assert.Equal(33, PositiveCases().Count);

    [Theory]
    [MemberData(nameof(PositiveCases))]
    public void Testfile_dump_matches_result_byte_for_byte(string name)
    {
        var text = Corpus.ReadText("buildkit-parser", "testfiles", name, "Dockerfile");
        var expected = Corpus.ReadText("buildkit-parser", "testfiles", name, "result");
        var result = DockerfileParser.Parse(text);
        Assert.Equal(expected, result.Ast.Dump() + "\n");
    }

    [Theory]
    [InlineData("empty_dockerfile", "file with no instructions")]
    [InlineData("only_comments", "file with no instructions")]
    [InlineData("env_no_value", "ENV must have two arguments")]
    [InlineData("shykes-nested-json", ExecFormParser.NotStringArrayMessage)]
    public void Negative_testfile_fails_with_message(string name, string message)
    {
        var text = Corpus.ReadText("buildkit-parser", "testfiles-negative", name, "Dockerfile");
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse(text));
        Assert.Contains(message, e.Reason);
    }

    [Fact]
    public void Line_numbers_of_nodes_match_upstream()
    {
        var cases = Corpus.Json("buildkit-parser", "parser-cases.json").GetProperty("line_numbers");
        var text = Corpus.ReadText(["buildkit-parser", .. cases.GetProperty("file").GetString()!.Split('/')]);
        var ast = DockerfileParser.Parse(text).Ast;
        Assert.Equal(cases.GetProperty("rootStartLine").GetInt32(), ast.StartLine);
        Assert.Equal(cases.GetProperty("rootEndLine").GetInt32(), ast.EndLine);
        var expected = cases.GetProperty("children").EnumerateArray().Select(c => (c[0].GetInt32(), c[1].GetInt32())).ToArray();
        Assert.Equal(expected, ast.Children.Select(c => (c.StartLine, c.EndLine)).ToArray());
    }

    public static TheoryData<string, string[]> ParseWordsCases()
    {
        var data = new TheoryData<string, string[]>();
        foreach (var c in Corpus.Json("buildkit-parser", "parser-cases.json").GetProperty("parse_words").GetProperty("cases").EnumerateArray())
        {
            data.Add(c.GetProperty("input").GetString()!, Corpus.Strings(c.GetProperty("expected")));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ParseWordsCases))]
    public void Parse_words_splits_on_unquoted_whitespace_and_keeps_quotes(string input, string[] expected)
    {
        // ARG uses the word splitter verbatim, so its argument chain exposes it.
        var ast = DockerfileParser.Parse("ARG " + input).Ast;
        Assert.Equal(expected, ast.Children[0].Arguments.Select(a => a.Value).ToArray());
    }

    [Fact]
    public void Empty_continuation_lines_warn_but_parse()
    {
        var c = Corpus.Json("buildkit-parser", "parser-cases.json").GetProperty("empty_continuation_warnings");
        var result = DockerfileParser.Parse(c.GetProperty("dockerfile").GetString()!);
        Assert.Equal(c.GetProperty("expectedWarningCount").GetInt32(), result.Warnings.Count);
        foreach (var s in Corpus.Strings(c.GetProperty("warning0Contains")))
        {
            Assert.Contains(s, result.Warnings[0].Short);
        }
        foreach (var s in Corpus.Strings(c.GetProperty("warning1Contains")))
        {
            Assert.Contains(s, result.Warnings[1].Short);
        }
        Assert.Contains(c.GetProperty("warning0DetailContains").GetString()!, result.Warnings[0].Detail[0]);
    }

    [Fact]
    public void Line_over_64KiB_fails_with_scanner_message()
    {
        var c = Corpus.Json("buildkit-parser", "parser-cases.json").GetProperty("line_too_long");
        var text = "\n\t\tFROM image\n\t\tLABEL test=" + new string('a', c.GetProperty("labelValueLength").GetInt32()) + "\n";
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse(text));
        Assert.Equal(c.GetProperty("expectedError").GetString(), e.Reason);
    }

    [Fact]
    public void Line_of_65535_bytes_is_accepted()
    {
        var label = "LABEL a=";
        var text = "FROM image\n" + label + new string('b', 65535 - label.Length) + "\n";
        Assert.Equal(2, DockerfileParser.Parse(text).Ast.Children.Count);
    }

    public static TheoryData<string, string[]> ValidJsonArrays()
    {
        var data = new TheoryData<string, string[]>();
        foreach (var c in Corpus.Json("buildkit-parser", "parser-cases.json").GetProperty("json_arrays").GetProperty("valid").EnumerateArray())
        {
            data.Add(c.GetProperty("input").GetString()!, Corpus.Strings(c.GetProperty("expected")));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ValidJsonArrays))]
    public void Json_array_of_strings_is_exec_form(string input, string[] expected)
    {
        Assert.Equal(expected, ExecFormParser.TryParse(input));
        var node = DockerfileParser.Parse("CMD " + input).Ast.Children[0];
        Assert.True(node.IsJson);
        Assert.Equal(expected, node.Arguments.Select(a => a.Value).ToArray());
    }

    public static TheoryData<string> InvalidJsonArrays()
    {
        var data = new TheoryData<string>();
        foreach (var c in Corpus.Json("buildkit-parser", "parser-cases.json").GetProperty("json_arrays").GetProperty("invalid").EnumerateArray())
        {
            data.Add(c.GetString()!);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(InvalidJsonArrays))]
    public void Json_array_with_non_string_is_rejected_not_shell_form(string input)
    {
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("CMD " + input));
        Assert.Equal(ExecFormParser.NotStringArrayMessage, e.Reason);
        Assert.Equal(1, e.Line);
    }

    public static TheoryData<string, string, string[]?> NameValueCases()
    {
        var data = new TheoryData<string, string, string[]?>();
        foreach (var c in Corpus.Json("buildkit-parser", "parser-cases.json").GetProperty("name_value").GetProperty("cases").EnumerateArray())
        {
            data.Add(c.GetProperty("instruction").GetString()!, c.GetProperty("rest").GetString()!,
                c.TryGetProperty("expectedNodes", out var nodes) ? Corpus.Strings(nodes) : null);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(NameValueCases))]
    public void Env_and_label_become_key_value_separator_triples(string instruction, string rest, string[]? expected)
    {
        if (expected == null)
        {
            Assert.Throws<DockerfileException>(() => DockerfileParser.Parse(instruction + " " + rest));
            return;
        }
        var node = DockerfileParser.Parse(instruction + " " + rest).Ast.Children[0];
        Assert.Equal(expected, node.Arguments.Select(a => a.Value).ToArray());
    }
}
