using System.Text.Json;
using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Shell;

namespace BuildFarm.Tests.Dockerfile;

/// <summary>BuildKit's shell lexer cases: envVarTest, wordsTest, lex-cases.json.</summary>
public class ShellLexerCorpusTests
{
    private static readonly ShellLexer Lexer = new('\\');

    private static JsonElement LexCases => Corpus.Json("buildkit-shell", "lex-cases.json");

    public static TheoryData<int, string, string> EnvVarCases()
    {
        var data = new TheoryData<int, string, string>();
        var lineNo = 0;
        foreach (var raw in Corpus.ReadText("buildkit-shell", "envVarTest").Split('\n'))
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var parts = line.Split('|');
            Assert.Equal(3, parts.Length);
            var platform = parts[0].Trim();
            // Skipped: "W" lines are Windows-only (case-insensitive names, $pwd == $PWD); BuildFarm runs Unix semantics.
            if (platform == "W")
            {
                continue;
            }
            data.Add(lineNo, parts[1].Trim(), parts[2].Trim());
        }
        return data;
    }

    [Fact]
    public void EnvVarTest_has_228_unix_cases() => Assert.Equal(228, EnvVarCases().Count);

    [Theory]
    [MemberData(nameof(EnvVarCases))]
    public void EnvVarTest_case_expands_like_upstream(int line, string input, string expected)
    {
        var env = ShellEnvironment.FromList(["PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL="]);
        if (expected == "error")
        {
            Assert.Throws<DockerfileException>(() => Lexer.ProcessWord(input, env));
            return;
        }
        Assert.True(line > 0);
        Assert.Equal(expected, Lexer.ProcessWord(input, env));
    }

    public static TheoryData<string, string[], string> WordsCases()
    {
        var data = new TheoryData<string, string[], string>();
        var env = new List<string>();
        foreach (var raw in Corpus.ReadText("buildkit-shell", "wordsTest").Split('\n'))
        {
            if (raw.StartsWith('#') || raw.Trim().Length == 0)
            {
                continue;
            }
            if (raw.StartsWith("ENV ", StringComparison.Ordinal))
            {
                env.Add(raw[4..].TrimStart());
                continue;
            }
            var parts = raw.Split('|');
            Assert.Equal(2, parts.Length);
            data.Add(parts[0].Trim(), env.ToArray(), parts[1].TrimStart());
        }
        return data;
    }

    [Fact]
    public void WordsTest_has_24_cases() => Assert.Equal(24, WordsCases().Count);

    [Theory]
    [MemberData(nameof(WordsCases))]
    public void WordsTest_case_splits_like_upstream(string input, string[] env, string expected)
    {
        var environment = ShellEnvironment.FromList(env);
        if (expected == "error")
        {
            Assert.Throws<DockerfileException>(() => Lexer.ProcessWords(input, environment));
            return;
        }
        Assert.Equal(expected.Split(','), Lexer.ProcessWords(input, environment));
    }

    private static ShellEnvironment EnvOf(JsonElement obj) =>
        ShellEnvironment.FromPairs(obj.EnumerateObject().Select(p => new KeyValuePair<string, string>(p.Name, p.Value.GetString()!)));

    public static TheoryData<int> MatchCases() => Indexes(LexCases.GetProperty("process_word_with_matches").GetProperty("cases"));

    [Theory]
    [MemberData(nameof(MatchCases))]
    public void Process_word_with_matches_reports_used_variables(int index)
    {
        var c = LexCases.GetProperty("process_word_with_matches").GetProperty("cases")[index];
        var input = c.GetProperty("input").GetString()!;
        var env = EnvOf(c.GetProperty("env"));
        if (c.TryGetProperty("error", out var error) && error.GetBoolean())
        {
            Assert.Throws<DockerfileException>(() => Lexer.ProcessWordWithMatches(input, env));
            return;
        }
        // notGuaranteed cases (upstream only promises no crash) still match upstream's current output here.
        var result = Lexer.ProcessWordWithMatches(input, env);
        Assert.Equal(c.GetProperty("expected").GetString(), result.Result);
        Assert.Equal(Corpus.Strings(c.GetProperty("matched")).Order(StringComparer.Ordinal), result.Matched.Order(StringComparer.Ordinal));
        Assert.Equal(Corpus.Strings(c.GetProperty("unmatched")).Order(StringComparer.Ordinal), result.Unmatched.Order(StringComparer.Ordinal));
    }

    public static TheoryData<int> MandatoryCases() => Indexes(LexCases.GetProperty("mandatory_env_vars").GetProperty("cases"));

    [Theory]
    [MemberData(nameof(MandatoryCases))]
    public void Mandatory_variable_error_carries_expanded_message(int index)
    {
        var c = LexCases.GetProperty("mandatory_env_vars").GetProperty("cases")[index];
        var input = c.GetProperty("input").GetString()!;
        var env = EnvOf(c.GetProperty("env"));
        if (c.TryGetProperty("errorContains", out var message))
        {
            var e = Assert.Throws<DockerfileException>(() => Lexer.ProcessWord(input, env));
            Assert.Contains(message.GetString()!, e.Reason);
            return;
        }
        Assert.Equal(c.GetProperty("expected").GetString(), Lexer.ProcessWord(input, env));
    }

    public static TheoryData<int> PlatformCases() => Indexes(LexCases.GetProperty("platform_release_name").GetProperty("cases"));

    [Theory]
    [MemberData(nameof(PlatformCases))]
    public void Nested_alternate_value_builds_release_names(int index)
    {
        var c = LexCases.GetProperty("platform_release_name").GetProperty("cases")[index];
        Assert.Equal(c.GetProperty("expected").GetString(), Lexer.ProcessWord(c.GetProperty("input").GetString()!, EnvOf(c.GetProperty("env"))));
    }

    public static TheoryData<int> EnvLookupCases() => Indexes(LexCases.GetProperty("env_lookup").GetProperty("cases"));

    [Theory]
    [MemberData(nameof(EnvLookupCases))]
    public void Env_lookup_last_duplicate_wins(int index)
    {
        var c = LexCases.GetProperty("env_lookup").GetProperty("cases")[index];
        var env = ShellEnvironment.FromList(Corpus.Strings(c.GetProperty("env")));
        Assert.Equal(c.GetProperty("expected").GetString(), env.Get(c.GetProperty("name").GetString()!));
    }

    [Fact]
    public void Custom_escape_token_escapes_with_backtick()
    {
        var lexer = new ShellLexer('`');
        Assert.Equal("a$B\\c", lexer.ProcessWord("a`$B\\c", ShellEnvironment.Empty));
    }

    [Fact]
    public void Replace_all_expands_dollar_templates_like_go()
    {
        // The replacement is expanded by the lexer first, so '$' reaches the template only from a value.
        var env = ShellEnvironment.FromList(["V=a-b-c", "ZERO=$0", "DD=$$"]);
        Assert.Equal("a[-]b[-]c", Lexer.ProcessWord("${V//-/[$ZERO]}", env));
        Assert.Equal("a$b$c", Lexer.ProcessWord("${V//-/$DD}", env));
        Assert.Equal("a$$b-c", Lexer.ProcessWord("${V/-/$DD}", env));
    }

    [Fact]
    public void Words_keep_text_before_a_modifier_expansion()
    {
        // Deliberate difference: BuildKit's shared word buffer would give ["c", "d"] here.
        Assert.Equal(["abc", "d"], Lexer.ProcessWords("ab${x:-c} d", ShellEnvironment.Empty));
    }

    [Fact]
    public void Suffix_and_prefix_trimming_with_globs()
    {
        var env = ShellEnvironment.FromList(["F=dir/sub/file.tar.gz"]);
        Assert.Equal("dir/sub/file.tar", Lexer.ProcessWord("${F%.*}", env));
        Assert.Equal("dir/sub/file", Lexer.ProcessWord("${F%%.*}", env));
        Assert.Equal("sub/file.tar.gz", Lexer.ProcessWord("${F#*/}", env));
        Assert.Equal("file.tar.gz", Lexer.ProcessWord("${F##*/}", env));
        Assert.Equal("dir-sub/file.tar.gz", Lexer.ProcessWord("${F/\\//-}", env));
        Assert.Equal("dir-sub-file.tar.gz", Lexer.ProcessWord("${F//\\//-}", env));
    }

    [Fact]
    public void Skip_unset_env_keeps_references()
    {
        var lexer = new ShellLexer { SkipUnsetEnv = true };
        Assert.Equal("$A ${B} ${C:-x}", lexer.ProcessWord("$A ${B} ${C:-x}", ShellEnvironment.Empty));
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
