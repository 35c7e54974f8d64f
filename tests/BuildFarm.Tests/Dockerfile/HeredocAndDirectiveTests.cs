using System.Text;
using System.Text.Json;
using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Syntax;

namespace BuildFarm.Tests.Dockerfile;

/// <summary>parser-cases.json: heredocs and directives sections.</summary>
public class HeredocAndDirectiveTests
{
    private static JsonElement Heredocs => Corpus.Json("buildkit-parser", "parser-cases.json").GetProperty("heredocs");

    private static JsonElement Directives => Corpus.Json("buildkit-parser", "parser-cases.json").GetProperty("directives");

    public static TheoryData<int> ExtractIndexes()
    {
        var data = new TheoryData<int>();
        foreach (var e in Heredocs.GetProperty("extracts").GetProperty("expected").EnumerateArray())
        {
            data.Add(e.GetProperty("childIndex").GetInt32());
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ExtractIndexes))]
    public void Heredocs_are_extracted_per_instruction(int childIndex)
    {
        var extracts = Heredocs.GetProperty("extracts");
        var ast = DockerfileParser.Parse(extracts.GetProperty("dockerfile").GetString()!).Ast;
        var expected = extracts.GetProperty("expected").EnumerateArray().Single(e => e.GetProperty("childIndex").GetInt32() == childIndex);
        var actual = ast.Children[childIndex].Heredocs;
        var want = expected.GetProperty("heredocs");
        if (want.ValueKind == JsonValueKind.Null)
        {
            Assert.Empty(actual);
            return;
        }
        var wanted = want.EnumerateArray().Select(h => new Heredoc(
            h.GetProperty("name").GetString()!,
            h.GetProperty("content").GetString()!,
            h.GetProperty("expand").GetBoolean(),
            h.GetProperty("chomp").GetBoolean(),
            h.GetProperty("fileDescriptor").GetUInt64())).ToArray();
        Assert.Equal(wanted, actual.ToArray());
    }

    [Fact]
    public void Heredoc_extract_case_has_28_instructions()
    {
        var ast = DockerfileParser.Parse(Heredocs.GetProperty("extracts").GetProperty("dockerfile").GetString()!).Ast;
        Assert.Equal(28, ast.Children.Count);
    }

    [Fact]
    public void Exec_form_run_never_has_heredocs()
    {
        var ast = DockerfileParser.Parse(Heredocs.GetProperty("json_form_not_heredoc").GetProperty("dockerfile").GetString()!).Ast;
        Assert.Equal(4, ast.Children.Count);
        for (var i = 1; i <= 3; i++)
        {
            Assert.Empty(ast.Children[i].Heredocs);
            Assert.True(ast.Children[i].IsJson);
        }
    }

    [Fact]
    public void Heredoc_with_chomp_strips_leading_tabs()
    {
        var c = Heredocs.GetProperty("chomp");
        Assert.Equal(c.GetProperty("expected").GetString(), HeredocParser.ChompHeredocContent(c.GetProperty("input").GetString()!));
    }

    public static TheoryData<string, string> HeredocWords()
    {
        var data = new TheoryData<string, string>();
        var c = Heredocs.GetProperty("parse_heredoc_word");
        foreach (var kind in new[] { "valid", "invalid", "notHeredoc" })
        {
            foreach (var w in c.GetProperty(kind).EnumerateArray())
            {
                data.Add(kind, w.GetString()!);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(HeredocWords))]
    public void Heredoc_word_is_classified_like_upstream(string kind, string word)
    {
        switch (kind)
        {
            case "valid":
                Assert.Equal("EOF", HeredocParser.ParseHeredoc(word)?.Name);
                break;
            case "invalid":
                Assert.Throws<DockerfileException>(() => HeredocParser.ParseHeredoc(word));
                break;
            default:
                Assert.Null(HeredocParser.ParseHeredoc(word));
                break;
        }
    }

    // Indexed: the upstream table lists "RUN <<EOF" twice, and xunit would merge identical rows.
    public static TheoryData<int, string, string[]> HeredocLines()
    {
        var data = new TheoryData<int, string, string[]>();
        var i = 0;
        foreach (var c in Heredocs.GetProperty("heredocs_from_line").GetProperty("cases").EnumerateArray())
        {
            data.Add(i++, c.GetProperty("line").GetString()!, Corpus.Strings(c.GetProperty("heredocNames")));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(HeredocLines))]
    public void Heredoc_names_are_found_on_a_line(int index, string line, string[] names)
    {
        Assert.InRange(index, 0, 9);
        var actual = HeredocParser.HeredocsFromLine(line).Select(h => h.Name).ToArray();
        if (line == "RUN <<- EOF")
        {
            // Upstream only asserts that each heredoc it finds has the listed name. BuildKit's lexer
            // splits "<<-" from "EOF" here, so it finds none, and we do the same: a stricter check
            // would make us disagree with BuildKit about which lines are heredoc bodies.
            Assert.Empty(actual);
            return;
        }
        Assert.Equal(names, actual);
    }

    public static TheoryData<int> ParseAllCases() => Indexes(Directives.GetProperty("parse_all"));

    [Theory]
    [MemberData(nameof(ParseAllCases))]
    public void Directive_parser_returns_known_directives_case_insensitively(int index)
    {
        var c = Directives.GetProperty("parse_all")[index];
        var actual = new DirectiveParser().ParseAll(c.GetProperty("input").GetString()!);
        var expected = c.GetProperty("expected").EnumerateArray().Select(e => (e.GetProperty("name").GetString(), e.GetProperty("value").GetString())).ToArray();
        Assert.Equal(expected, actual.Select(d => ((string?)d.Name, (string?)d.Value)).ToArray());
    }

    public static TheoryData<int> DetectSyntaxCases() => Indexes(Directives.GetProperty("detect_syntax"));

    [Theory]
    [MemberData(nameof(DetectSyntaxCases))]
    public void Syntax_directive_is_detected_like_upstream(int index)
    {
        var c = Directives.GetProperty("detect_syntax")[index];
        var input = c.TryGetProperty("inputBase64", out var b64)
            ? Encoding.UTF8.GetString(Convert.FromBase64String(b64.GetString()!))
            : c.GetProperty("input").GetString()!;
        AssertDetected(c, DirectiveDetector.DetectSyntax(input), "ref");
    }

    public static TheoryData<int> CheckDirectiveCases() => Indexes(Directives.GetProperty("parse_directive_check"));

    [Theory]
    [MemberData(nameof(CheckDirectiveCases))]
    public void Check_directive_is_detected_without_slash_style(int index)
    {
        var c = Directives.GetProperty("parse_directive_check")[index];
        AssertDetected(c, DirectiveDetector.ParseDirective("check", c.GetProperty("input").GetString()!), "value");
    }

    private static void AssertDetected(JsonElement c, DetectedDirective? actual, string refKey)
    {
        if (!c.GetProperty("ok").GetBoolean())
        {
            Assert.Null(actual);
            return;
        }
        Assert.NotNull(actual);
        Assert.Equal(c.GetProperty(refKey).GetString(), actual.Ref);
        if (c.TryGetProperty("cmdline", out var cmdline))
        {
            Assert.Equal(cmdline.GetString(), actual.CommandLine);
        }
        if (c.TryGetProperty("line", out var line))
        {
            Assert.Equal(line.GetInt32(), actual.Line);
        }
    }

    [Fact]
    public void Escape_directive_after_comment_is_just_a_comment()
    {
        var ast = DockerfileParser.Parse("# hello\n# escape=`\nFROM a\nRUN x \\\n y\n").Ast;
        Assert.Equal("(from \"a\")\n(run \"x  y\")", ast.Dump());
    }

    [Fact]
    public void Backtick_escape_continues_lines()
    {
        var result = DockerfileParser.Parse("# escape=`\nFROM a\nRUN dir c:\\ `\n  /w\n");
        Assert.Equal('`', result.EscapeToken);
        Assert.Equal("(from \"a\")\n(run \"dir c:\\\\   /w\")", result.Ast.Dump());
    }

    [Fact]
    public void Repeated_directive_is_an_error_with_its_line()
    {
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("# escape=`\n# ESCAPE=\\\nFROM a\n"));
        Assert.Equal("only one escape parser directive can be used", e.Reason);
        Assert.Equal(2, e.Line);
        Assert.StartsWith("Dockerfile:2:1: ", e.Message);
    }

    [Fact]
    public void Directives_are_reported_and_not_comments()
    {
        var result = DockerfileParser.Parse("# syntax=docker/dockerfile:1\n# CHECK = skip=all\n# about a\nFROM a\n");
        Assert.Equal("docker/dockerfile:1", result.GetDirective("syntax"));
        Assert.Equal("skip=all", result.GetDirective("check"));
        Assert.Equal(["about a"], result.Ast.Children[0].PrevComment);
    }

    [Fact]
    public void Directive_with_only_spaces_after_equals_takes_one_space_like_go_regexp()
    {
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("# escape=   \nFROM a\n"));
        Assert.Equal("invalid escape token ' ' does not match ` or \\", e.Reason);
    }

    [Fact]
    public void Long_directive_like_line_parses_quickly()
    {
        var text = "#a=" + new string(' ', 60000) + "x\nFROM a\n";
        Assert.Single(DockerfileParser.Parse(text).Ast.Children);
    }

    [Fact]
    public void Invalid_escape_token_is_an_error()
    {
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("# escape=x\nFROM a\n"));
        Assert.Contains("invalid escape token", e.Reason);
    }

    [Fact]
    public void Unterminated_heredoc_is_an_error_spanning_to_the_end()
    {
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse("FROM a\nRUN <<EOF\necho\n"));
        Assert.Equal("unterminated heredoc", e.Reason);
        Assert.Equal(2, e.Line);
        Assert.Equal(3, e.EndLine);
    }

    [Fact]
    public void Heredoc_with_file_descriptor_and_onbuild_nesting()
    {
        var ast = DockerfileParser.Parse("FROM a\nONBUILD RUN 3<<EOF cat\nhi\nEOF\nRUN x\n").Ast;
        var onbuild = ast.Children[1];
        Assert.Equal(new Heredoc("EOF", "hi\n", true, false, 3), Assert.Single(onbuild.Heredocs));
        Assert.Equal((2, 4), (onbuild.StartLine, onbuild.EndLine));
        Assert.Equal("onbuild (run \"3<<EOF cat\")", onbuild.Dump());
    }

    [Fact]
    public void Instruction_column_counts_leading_whitespace()
    {
        var ast = DockerfileParser.Parse("FROM a\n\t  RUN x\n").Ast;
        Assert.Equal(1, ast.Children[0].Column);
        Assert.Equal(4, ast.Children[1].Column);
    }

    private static TheoryData<int> Indexes(JsonElement array)
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < array.GetArrayLength(); i++)
        {
            data.Add(i);
        }
        return data;
    }
}
