using System.Diagnostics;
using System.Text;
using System.Text.Json;
using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Instructions;
using BuildFarm.Coordinator.Dockerfile.Shell;
using BuildFarm.Coordinator.Dockerfile.Syntax;

namespace BuildFarm.Tests.Dockerfile;

/// <summary>
/// Mutates every corpus Dockerfile (fixed seed) and checks that parsing, stage grouping and word
/// expansion either succeed or throw <see cref="DockerfileException"/> — never anything else.
/// </summary>
public class FrontendFuzzTests
{
    private static readonly string[] Insertions =
    [
        "\\", "`", "<<", "<<-", "<<EOF", "<<'EOF'", "\nEOF\n", "[", "]", "\"", "'", "$", "{", "}", "${", "${X:-", "${X#*", "${X//a/b}",
        "\0", "\n", "\r\n", " \\\n", "\t", "--", "--mount=", "--mount=type=cache,target=/x,uid=$U", "--platform=", "--from=",
        "ONBUILD ", "FROM ", "RUN ", "COPY ", "ARG ", "HEALTHCHECK --interval=1ns CMD ", "# escape=`\n", "# syntax=x\n", "=", ",", "\uFEFF", "é", "\u2028",
        "[\"a\", 1]", "[\"a\"", "3<<", "AS ", "\v", "\f", "\u00a0",
    ];

    private static IEnumerable<string> Seeds()
    {
        foreach (var file in Directory.GetFiles(Corpus.PathOf("buildkit-parser"), "Dockerfile", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            yield return new UTF8Encoding(false).GetString(File.ReadAllBytes(file));
        }
        foreach (var json in new[] { Corpus.PathOf("buildkit-parser", "parser-cases.json"), Corpus.PathOf("buildkit-instructions", "instructions-cases.json") })
        {
            foreach (var text in DockerfilesIn(JsonDocument.Parse(File.ReadAllBytes(json)).RootElement))
            {
                yield return text;
            }
        }
    }

    private static IEnumerable<string> DockerfilesIn(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in element.EnumerateObject())
                {
                    if (p.Name == "dockerfile" && p.Value.ValueKind == JsonValueKind.String)
                    {
                        yield return p.Value.GetString()!;
                    }
                    foreach (var d in DockerfilesIn(p.Value))
                    {
                        yield return d;
                    }
                }
                break;
            case JsonValueKind.Array:
                foreach (var e in element.EnumerateArray())
                {
                    foreach (var d in DockerfilesIn(e))
                    {
                        yield return d;
                    }
                }
                break;
        }
    }

    private static string Mutate(string text, Random rng, int maxSteps)
    {
        var steps = rng.Next(1, maxSteps + 1);
        for (var s = 0; s < steps; s++)
        {
            var pos = text.Length == 0 ? 0 : rng.Next(text.Length);
            var lines = text.Split('\n').ToList();
            switch (rng.Next(10))
            {
                case 0 when text.Length > 0:
                    text = text.Remove(pos, 1);
                    break;
                case 1 when text.Length > 0:
                    text = text.Insert(pos, text[pos].ToString());
                    break;
                case 2 when text.Length > 1:
                    var other = rng.Next(text.Length);
                    var chars = text.ToCharArray();
                    (chars[pos], chars[other]) = (chars[other], chars[pos]);
                    text = new string(chars);
                    break;
                case 3 when lines.Count > 1:
                    lines.RemoveAt(rng.Next(lines.Count));
                    text = string.Join('\n', lines);
                    break;
                case 4 when lines.Count > 0:
                    var i = rng.Next(lines.Count);
                    lines.Insert(i, lines[i]);
                    text = string.Join('\n', lines);
                    break;
                case 5 when lines.Count > 1:
                    int a = rng.Next(lines.Count), b = rng.Next(lines.Count);
                    (lines[a], lines[b]) = (lines[b], lines[a]);
                    text = string.Join('\n', lines);
                    break;
                case 6 when rng.Next(20) == 0:
                    text = text.Insert(pos, new string((char)('a' + rng.Next(26)), 65530 + rng.Next(10)));
                    break;
                default:
                    text = text.Insert(pos, Insertions[rng.Next(Insertions.Length)]);
                    break;
            }
        }
        return text;
    }

    [Fact]
    public void Mutated_corpus_dockerfiles_only_ever_fail_with_DockerfileException()
    {
        var seeds = Seeds().ToArray();
        Assert.True(seeds.Length > 50);
        // Fixed seed and size by default; BUILDFARM_FUZZ_SEED / _ITERATIONS / _STEPS allow longer local runs.
        var seed = int.TryParse(Environment.GetEnvironmentVariable("BUILDFARM_FUZZ_SEED"), out var s) ? s : 20261126;
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("BUILDFARM_FUZZ_ITERATIONS"), out var it) ? it : 4000;
        var maxSteps = int.TryParse(Environment.GetEnvironmentVariable("BUILDFARM_FUZZ_STEPS"), out var st) ? st : 3;
        var budget = iterations > 4000 ? TimeSpan.FromHours(1) : TimeSpan.FromSeconds(60);
        var rng = new Random(seed);
        var clock = Stopwatch.StartNew();
        var runs = 0;
        var parsed = 0;
        var failed = 0;
        // Bounded: a fixed number of mutations, cut short if the machine is very slow.
        for (var n = 0; n < iterations && clock.Elapsed < budget; n++)
        {
            var input = Mutate(seeds[n % seeds.Length], rng, maxSteps);
            runs++;
            try
            {
                if (Exercise(input))
                {
                    parsed++;
                }
                else
                {
                    failed++;
                }
            }
            catch (Exception e) when (e is not DockerfileException)
            {
                Assert.Fail($"{e.GetType().Name} escaped for input {JsonSerializer.Serialize(input.Length > 2000 ? input[..2000] : input)}: {e}");
            }
        }
        Assert.True(runs >= Math.Min(1000, iterations), $"only {runs} mutations ran");
        // Both outcomes must occur, otherwise the mutations are not exercising anything.
        Assert.True(parsed > 0 && failed > 0, $"parsed {parsed}, failed {failed}");
    }

    /// <summary>True when the whole pipeline succeeded, false when it failed with a DockerfileException.</summary>
    private static bool Exercise(string text)
    {
        ParseResult result;
        try
        {
            result = DockerfileParser.Parse(text);
            _ = result.Ast.Dump();
        }
        catch (DockerfileException)
        {
            return false;
        }
        var lexer = new ShellLexer(result.EscapeToken);
        var env = ShellEnvironment.FromList(["X=a b*c", "U=1000", "EMPTY=", "PATH=/usr/bin"]);
        var ok = true;
        // Every instruction on its own (stage grouping stops at the first error).
        foreach (var node in result.Ast.Children)
        {
            try
            {
                ExpandAll(InstructionParser.ParseInstruction(node), lexer, env);
            }
            catch (DockerfileException)
            {
                ok = false;
            }
        }
        try
        {
            var stages = StageParser.ParseStages(result);
            foreach (var stage in stages.Stages)
            {
                lexer.ProcessWordWithMatches(stage.BaseName, env);
                lexer.ProcessWord(stage.Platform, env);
            }
        }
        catch (DockerfileException)
        {
            ok = false;
        }
        return ok;
    }

    private static void ExpandAll(Instruction instruction, ShellLexer lexer, IShellEnvironment env)
    {
        string Expand(string word) => lexer.ProcessWord(word, env);
        switch (instruction)
        {
            case RunInstruction run:
                foreach (var m in run.Mounts)
                {
                    try
                    {
                        m.Expand(Expand);
                    }
                    catch (DockerfileException)
                    {
                        // An invalid mount is an acceptable outcome; keep exercising the rest.
                    }
                }
                break;
            case ExposeInstruction expose:
                foreach (var p in expose.Ports)
                {
                    lexer.ProcessWords(p, env);
                }
                break;
            case CopyInstruction copy:
                copy.ExpandContents(Expand);
                lexer.ProcessWord(copy.From, env);
                break;
            case AddInstruction add:
                add.ExpandContents(Expand);
                break;
        }
        if (instruction is IExpandableInstruction expandable)
        {
            expandable.Expand(Expand);
        }
    }
}
