namespace BuildFarm.Cli.Commands;

/// <summary>Status lines of pull and push straight to a writer (synchronously: their order is the story); null: quiet.</summary>
internal sealed class StatusLines(TextWriter? writer) : IProgress<string>
{
    public void Report(string value) => writer?.WriteLine(value);
}
