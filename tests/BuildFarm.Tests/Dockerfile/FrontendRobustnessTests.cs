using System.Text;
using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Dockerfile.Shell;
using BuildFarm.Coordinator.Dockerfile.Syntax;

namespace BuildFarm.Tests.Dockerfile;

/// <summary>Pathological inputs that recurse or backtrack: they must end in a result or a DockerfileException.</summary>
public class FrontendRobustnessTests
{
    [Fact]
    public void Deeply_nested_substitution_fails_cleanly_or_expands()
    {
        var depth = 20000;
        var word = new StringBuilder().Insert(0, "${A:-", depth).Append('x').Append('}', depth).ToString();
        try
        {
            Assert.Equal("x", new ShellLexer().ProcessWord(word, ShellEnvironment.Empty));
        }
        catch (DockerfileException e)
        {
            Assert.Contains("nested too deeply", e.Reason);
        }
    }

    [Fact]
    public void Long_onbuild_chain_is_rejected_with_position()
    {
        var text = "FROM a\n" + string.Concat(Enumerable.Repeat("ONBUILD ", 5000)) + "RUN x\n";
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse(text));
        Assert.Equal(2, e.Line);
    }

    [Fact]
    public void Deeply_nested_json_array_is_rejected_as_non_string_array()
    {
        var text = "CMD [" + new string('[', 5000) + new string(']', 5000) + "]";
        var e = Assert.Throws<DockerfileException>(() => DockerfileParser.Parse(text));
        Assert.Equal(ExecFormParser.NotStringArrayMessage, e.Reason);
    }

    [Fact]
    public void Json_number_beyond_double_falls_back_to_shell_form_like_go()
    {
        var node = DockerfileParser.Parse("CMD [\"a\", 1e999]").Ast.Children[0];
        Assert.False(node.IsJson);
        Assert.Equal("cmd \"[\\\"a\\\", 1e999]\"", node.Dump());
    }

    [Fact]
    public void Pattern_with_many_stars_matches_without_stack_overflow()
    {
        var pattern = string.Concat(Enumerable.Repeat("*a", 2000));
        var env = ShellEnvironment.FromList(["V=" + new string('a', 3000) + "b"]);
        Assert.Equal("b", new ShellLexer().ProcessWord("${V##" + pattern + "}", env));
        Assert.Equal(new string('a', 1000) + "b", new ShellLexer().ProcessWord("${V#" + pattern + "}", env));
        Assert.Equal("xb", new ShellLexer().ProcessWord("${V/" + pattern + "/x}", env));
    }

    [Fact]
    public void Lone_surrogate_escape_in_json_becomes_replacement_character_like_go()
    {
        var node = DockerfileParser.Parse("CMD [\"a\\ud800b\", \"\\ud83d\\ude00\"]").Ast.Children[0];
        Assert.True(node.IsJson);
        Assert.Equal(["a\uFFFDb", "\U0001F600"], node.Arguments.Select(a => a.Value).ToArray());
    }

    [Fact]
    public void Long_white_space_after_heredoc_marker_is_handled_quickly()
    {
        var text = "FROM a\nRUN <<" + new string(' ', 60000) + "a< x\n";
        var node = DockerfileParser.Parse(text).Ast.Children[1];
        Assert.Empty(node.Heredocs);
    }

    [Fact]
    public void Nul_and_control_characters_are_dumped_with_go_escapes()
    {
        var node = DockerfileParser.Parse("RUN a\0b\u0001c\u00a0d\u200be").Ast.Children[0];
        Assert.Equal("run \"a\\x00b\\x01c\\u00a0d\\u200be\"", node.Dump());
    }

    [Fact]
    public void Bom_at_start_is_ignored()
    {
        var result = DockerfileParser.Parse(Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes("# escape=`\nFROM a\n")).ToArray());
        Assert.Equal('`', result.EscapeToken);
        Assert.Equal("(from \"a\")", result.Ast.Dump());
    }

    [Fact]
    public void Crlf_line_endings_are_accepted()
    {
        var stages = StageParser.ParseStages("FROM a AS b\r\nRUN echo \\\r\n  hi\r\n");
        var run = Assert.IsType<RunInstruction>(Assert.Single(stages.Stages[0].Instructions));
        Assert.Equal(["echo   hi"], run.CmdLine);
    }

    [Fact]
    public void Expansion_error_can_be_placed_at_the_instruction()
    {
        var run = StageParser.ParseStages("FROM a\n  WORKDIR ${X:?must be set}\n").Stages[0].Instructions[0];
        var lexer = new ShellLexer();
        var e = Assert.Throws<DockerfileException>(() => ((IExpandableInstruction)run).Expand(w => lexer.ProcessWord(w, ShellEnvironment.Empty)));
        var placed = e.At(run.Location);
        Assert.Equal("Dockerfile:2:3: failed to process \"${X:?must be set}\": X: must be set", placed.Message);
    }

    [Fact]
    public void Error_message_has_file_line_and_column()
    {
        var e = Assert.Throws<DockerfileException>(() => StageParser.ParseStages("FROM a\n\n  WORKDIR\n", "ctx/Dockerfile.dev"));
        // BuildKit's words (its parseError names the line), after our file:line:column
        Assert.Equal("ctx/Dockerfile.dev:3:3: dockerfile parse error on line 3: WORKDIR requires exactly one argument", e.Message);
        Assert.Equal(("ctx/Dockerfile.dev", 3, 3), (e.FileName, e.Line, e.Column));
    }

    [Fact]
    public void An_instruction_error_of_the_file_takes_buildkits_parse_error_prefix()
    {
        var e = Assert.Throws<DockerfileException>(() => StageParser.ParseStages("FROM scratch\nFROBNICATE now\n"));
        Assert.Equal("dockerfile parse error on line 2: unknown instruction: FROBNICATE", e.Reason);
        Assert.Equal(2, e.Line);
    }

    [Fact]
    public void A_stage_error_that_is_no_instruction_error_has_no_parse_error_prefix()
    {
        // BuildKit places "no build stage" with WithLocation only: its text has no "dockerfile parse error" prefix.
        var e = Assert.Throws<DockerfileException>(() => StageParser.ParseStages("RUN true\n"));
        Assert.Equal("no build stage in current context", e.Reason);
    }
}
