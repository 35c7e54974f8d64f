namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>Parses an instruction's argument text into its argument chain (and whether it was exec form).</summary>
internal delegate (Node? Next, bool IsJson) LineParser(string rest, char escapeToken, Func<string, Node> subCommand);
