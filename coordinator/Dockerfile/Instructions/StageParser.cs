using BuildFarm.Coordinator.Dockerfile.Syntax;

namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>Groups typed instructions into stages (BuildKit's <c>instructions.Parse</c>).</summary>
public static class StageParser
{
    /// <summary>Parses the text and groups it: global meta ARGs (before the first FROM) and stages.</summary>
    /// <exception cref="DockerfileException">for any syntax or instruction error, with its position.</exception>
    public static DockerfileStages ParseStages(string text, string fileName = "Dockerfile") =>
        ParseStages(DockerfileParser.Parse(text, fileName));

    public static DockerfileStages ParseStages(ParseResult parsed)
    {
        var metaArgs = new List<ArgInstruction>();
        var stages = new List<(FromInstruction From, List<Instruction> Instructions)>();
        foreach (var node in parsed.Ast.Children)
        {
            Instruction instruction;
            try
            {
                instruction = InstructionParser.ParseInstruction(node, parsed.FileName);
            }
            catch (DockerfileException e)
            {
                // BuildKit's instructions.Parse wraps every error of a typed instruction in its parseError, whose text
                // names the line; users search for that text. The place stays on the exception as well.
                throw new DockerfileException($"dockerfile parse error on line {node.StartLine}: {e.Reason}",
                    e.FileName, e.Line, e.Column, e.EndLine, e);
            }
            switch (instruction)
            {
                case ArgInstruction arg when stages.Count == 0:
                    metaArgs.Add(arg);
                    break;
                case FromInstruction from:
                    stages.Add((from, []));
                    break;
                default:
                    if (stages.Count == 0)
                    {
                        throw new DockerfileException("no build stage in current context", parsed.FileName, node.StartLine, node.Column, node.EndLine);
                    }
                    stages[^1].Instructions.Add(instruction);
                    break;
            }
        }
        return new DockerfileStages(
            metaArgs,
            stages.Select((s, i) => new Stage(i, s.From, s.Instructions)).ToArray(),
            parsed.EscapeToken)
        {
            Warnings = parsed.Warnings,
            Directives = parsed.Directives,
        };
    }
}
