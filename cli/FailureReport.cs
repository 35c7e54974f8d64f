using System.Text;
using BuildFarm.Coordinator.Builds;

namespace BuildFarm.Cli;

/// <summary>The error block buildx prints: the step's last output, the Dockerfile lines around it, the reason.</summary>
public static class FailureReport
{
    public static string Format(BuildOutcome outcome, string dockerfilePath)
    {
        var text = new StringBuilder();
        if (outcome.ErrorInstruction.Length > 0)
        {
            text.AppendLine("------");
            text.AppendLine($" > {outcome.ErrorInstruction}:");
            foreach (var line in outcome.LogTail) text.AppendLine(line);
            text.AppendLine("------");
        }
        if (outcome.ErrorLocation.Length > 0)
        {
            text.AppendLine(outcome.ErrorLocation);
            var colon = outcome.ErrorLocation.LastIndexOf(':');
            if (colon > 0 && int.TryParse(outcome.ErrorLocation[(colon + 1)..], out var lineNumber) && File.Exists(dockerfilePath))
            {
                var lines = File.ReadAllLines(dockerfilePath);
                text.AppendLine("--------------------");
                for (var i = Math.Max(1, lineNumber - 2); i <= Math.Min(lines.Length, lineNumber + 2); i++)
                    text.AppendLine($"{i,4} | {(i == lineNumber ? ">>> " : "    ")}{lines[i - 1]}");
                text.AppendLine("--------------------");
            }
        }
        text.Append(outcome.Canceled ? "ERROR: canceled" : $"ERROR: {(outcome.Error.StartsWith("failed to", StringComparison.Ordinal) ? "" : "failed to solve: ")}{outcome.Error}");
        return text.ToString();
    }
}
