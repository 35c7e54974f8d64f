using System.Text.Json;
using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Dockerfile.Syntax;

namespace BuildFarm.Tests.Dockerfile;

/// <summary>buildkit-instructions/instructions-cases.json.</summary>
public class InstructionCorpusTests
{
    private static JsonElement Cases => Corpus.Json("buildkit-instructions", "instructions-cases.json");

    private static Instruction First(string dockerfile) => InstructionParser.ParseInstruction(DockerfileParser.Parse(dockerfile).Ast.Children[0]);

    public static TheoryData<string, string> ArgumentCountErrors()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in Cases.GetProperty("argument_count_errors").GetProperty("cases").EnumerateArray())
        {
            data.Add(c.GetProperty("dockerfile").GetString()!, c.GetProperty("error").GetString()!);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ArgumentCountErrors))]
    public void Wrong_argument_count_fails_with_exact_message(string dockerfile, string message)
    {
        var node = DockerfileParser.Parse(dockerfile).Ast.Children[0];
        var e = Assert.Throws<DockerfileException>(() => InstructionParser.ParseInstruction(node));
        Assert.Equal(message, e.Reason);
        Assert.Equal(1, e.Line);
    }

    public static TheoryData<int> HandBuiltCases() => Indexes(Cases.GetProperty("hand_built_node_errors").GetProperty("cases"));

    [Theory]
    [MemberData(nameof(HandBuiltCases))]
    public void Hand_built_node_is_checked_like_upstream(int index)
    {
        var c = Cases.GetProperty("hand_built_node_errors").GetProperty("cases")[index];
        var node = Node.Create(c.GetProperty("instruction").GetString()!, Corpus.Strings(c.GetProperty("nodeArgs")));
        if (c.TryGetProperty("error", out var error))
        {
            var e = Assert.Throws<DockerfileException>(() => InstructionParser.ParseInstruction(node));
            Assert.Equal(error.GetString(), e.Reason);
            return;
        }
        var health = Assert.IsType<HealthcheckInstruction>(InstructionParser.ParseInstruction(node));
        Assert.Equal(Corpus.Strings(c.GetProperty("expectedHealthTest")), health.Health.Test);
    }

    public static TheoryData<string, string?> IntervalCases()
    {
        var data = new TheoryData<string, string?>();
        foreach (var c in Cases.GetProperty("healthcheck_interval").GetProperty("cases").EnumerateArray())
        {
            data.Add(c.GetProperty("value").GetString()!, c.TryGetProperty("errorContains", out var e) ? e.GetString() : null);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(IntervalCases))]
    public void Healthcheck_interval_below_1ms_is_rejected(string value, string? errorContains)
    {
        var dockerfile = $"HEALTHCHECK --interval={value} CMD true";
        if (errorContains != null)
        {
            var e = Assert.Throws<DockerfileException>(() => First(dockerfile));
            Assert.Contains(errorContains, e.Reason);
            return;
        }
        var health = Assert.IsType<HealthcheckInstruction>(First(dockerfile)).Health;
        Assert.Equal(value == "1ms" ? TimeSpan.FromMilliseconds(1) : TimeSpan.Zero, health.Interval);
    }

    public static TheoryData<string, string, string> ErrorCases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var c in Cases.GetProperty("error_cases").GetProperty("cases").EnumerateArray())
        {
            data.Add(c.GetProperty("name").GetString()!, c.GetProperty("dockerfile").GetString()!, c.GetProperty("errorContains").GetString()!);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ErrorCases))]
    public void Invalid_instruction_fails_after_successful_parse(string name, string dockerfile, string errorContains)
    {
        var node = DockerfileParser.Parse(dockerfile).Ast.Children[0];
        var e = Assert.Throws<DockerfileException>(() => InstructionParser.ParseInstruction(node));
        Assert.True(e.Reason.Contains(errorContains, StringComparison.Ordinal), $"{name}: {e.Reason}");
    }

    [Fact]
    public void Run_reports_flags_used()
    {
        var c = Cases.GetProperty("run_flags_used");
        var run = Assert.IsType<RunInstruction>(First(c.GetProperty("dockerfile").GetString()!));
        Assert.Equal(Corpus.Strings(c.GetProperty("flagsUsed")), run.FlagsUsed);
        var mount = Assert.Single(run.Mounts).Literal!;
        Assert.Equal(MountType.Tmpfs, mount.Type);
        Assert.Equal("/foo/", mount.Target);
    }

    [Fact]
    public void Doc_comments_attach_to_stage_and_args_by_name()
    {
        var c = Cases.GetProperty("doc_comments");
        var expected = c.GetProperty("expected");
        var result = StageParser.ParseStages(c.GetProperty("dockerfile").GetString()!);
        Assert.Equal(expected.GetProperty("stage0DocComment").GetString(), result.Stages[0].DocComment);
        var metaArgs = result.MetaArgs.SelectMany(a => a.Args).Select(a => (a.Key, a.DocComment)).ToArray();
        Assert.Equal(expected.GetProperty("metaArgs").EnumerateArray().Select(a => (a.GetProperty("key").GetString()!, a.GetProperty("docComment").GetString()!)).ToArray(), metaArgs);
        var commands = expected.GetProperty("stage0Commands").EnumerateArray().ToArray();
        Assert.Equal(commands.Length, result.Stages[0].Instructions.Count);
        for (var i = 0; i < commands.Length; i++)
        {
            var arg = Assert.IsType<ArgInstruction>(result.Stages[0].Instructions[i]);
            Assert.Equal(
                commands[i].EnumerateArray().Select(a => (a.GetProperty("key").GetString()!, a.GetProperty("docComment").GetString()!)).ToArray(),
                arg.Args.Select(a => (a.Key, a.DocComment)).ToArray());
        }
    }

    public static TheoryData<int> CopyHeredocCases() => Indexes(Cases.GetProperty("copy_heredoc").GetProperty("cases"));

    [Theory]
    [MemberData(nameof(CopyHeredocCases))]
    public void Copy_heredoc_sources_become_inline_contents(int index)
    {
        var c = Cases.GetProperty("copy_heredoc").GetProperty("cases")[index];
        var expected = c.GetProperty("expected");
        var copy = Assert.IsType<CopyInstruction>(First(c.GetProperty("dockerfile").GetString()!));
        Assert.Equal(expected.GetProperty("destPath").GetString(), copy.DestPath);
        Assert.Equal(Corpus.Strings(expected.GetProperty("sourcePaths")), copy.SourcePaths);
        var contents = expected.GetProperty("sourceContents");
        var wanted = contents.ValueKind == JsonValueKind.Null
            ? []
            : contents.EnumerateArray().Select(s => new SourceContent(s.GetProperty("path").GetString()!, s.GetProperty("data").GetString()!, s.GetProperty("expand").GetBoolean())).ToArray();
        Assert.Equal(wanted, copy.SourceContents);
    }

    public static TheoryData<int> RunHeredocCases() => Indexes(Cases.GetProperty("run_heredoc").GetProperty("cases"));

    [Theory]
    [MemberData(nameof(RunHeredocCases))]
    public void Run_heredoc_keeps_command_line_and_raw_files(int index)
    {
        var c = Cases.GetProperty("run_heredoc").GetProperty("cases")[index];
        var run = Assert.IsType<RunInstruction>(First(c.GetProperty("dockerfile").GetString()!));
        Assert.Equal(c.GetProperty("prependShell").GetBoolean(), run.PrependShell);
        Assert.Equal(Corpus.Strings(c.GetProperty("cmdLine")), run.CmdLine);
        var files = c.GetProperty("files");
        var wanted = files.ValueKind == JsonValueKind.Null
            ? []
            : files.EnumerateArray().Select(f => new ShellInlineFile(f.GetProperty("name").GetString()!, f.GetProperty("data").GetString()!, f.GetProperty("chomp").GetBoolean())).ToArray();
        Assert.Equal(wanted, run.Files);
    }

    public static TheoryData<int> DeviceCases() => Indexes(Cases.GetProperty("run_device").GetProperty("cases"));

    [Theory]
    [MemberData(nameof(DeviceCases))]
    public void Run_device_value_is_parsed(int index)
    {
        var c = Cases.GetProperty("run_device").GetProperty("cases")[index];
        var input = c.GetProperty("input").GetString()!;
        if (c.TryGetProperty("error", out var error))
        {
            var e = Assert.Throws<DockerfileException>(() => RunDevice.Parse(input));
            Assert.Equal(error.GetString(), e.Reason);
            var viaRun = Assert.Throws<DockerfileException>(() => First($"RUN --device={input} true"));
            Assert.Equal(error.GetString(), viaRun.Reason);
            return;
        }
        var expected = c.GetProperty("expected");
        var wanted = new RunDevice(expected.GetProperty("name").GetString()!, expected.GetProperty("required").GetBoolean());
        Assert.Equal(wanted, RunDevice.Parse(input));
        Assert.Equal(wanted, Assert.Single(Assert.IsType<RunInstruction>(First($"RUN --device={input} true")).Devices));
    }

    public static TheoryData<int> JsonArgsCases() => Indexes(Cases.GetProperty("handle_json_args").GetProperty("cases"));

    [Theory]
    [MemberData(nameof(JsonArgsCases))]
    public void Exec_args_stay_a_list_and_shell_args_are_joined(int index)
    {
        var c = Cases.GetProperty("handle_json_args").GetProperty("cases")[index];
        Assert.Equal(
            Corpus.Strings(c.GetProperty("expected")),
            InstructionParser.HandleJsonArgs(Corpus.Strings(c.GetProperty("args")), c.GetProperty("json").GetBoolean()));
    }

    public static TheoryData<int> BuilderFlagCases() => Indexes(Cases.GetProperty("builder_flags").GetProperty("cases"));

    [Theory]
    [MemberData(nameof(BuilderFlagCases))]
    public void Builder_flags_parse_like_upstream(int index)
    {
        var c = Cases.GetProperty("builder_flags").GetProperty("cases")[index];
        var flags = new BuilderFlags(Corpus.Strings(c.GetProperty("args")));
        var declared = new Dictionary<string, BuilderFlag>();
        foreach (var d in c.GetProperty("declare").EnumerateArray())
        {
            var name = d.GetProperty("name").GetString()!;
            declared[name] = d.GetProperty("type").GetString() == "bool"
                ? flags.AddBool(name, d.GetProperty("default").GetBoolean())
                : flags.AddString(name, d.GetProperty("default").GetString()!);
        }
        if (!c.GetProperty("ok").GetBoolean())
        {
            Assert.Throws<DockerfileException>(flags.Parse);
            return;
        }
        flags.Parse();
        if (c.TryGetProperty("values", out var values))
        {
            foreach (var v in values.EnumerateObject())
            {
                var expected = v.Value.ValueKind is JsonValueKind.True or JsonValueKind.False
                    ? (v.Value.GetBoolean() ? "true" : "false")
                    : v.Value.GetString();
                Assert.Equal(expected, declared[v.Name].Value);
            }
        }
        if (c.TryGetProperty("used", out var used))
        {
            Assert.Equal(Corpus.Strings(used), flags.Used);
        }
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
