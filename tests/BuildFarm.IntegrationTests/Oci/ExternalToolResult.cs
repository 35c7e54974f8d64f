namespace BuildFarm.IntegrationTests.Oci;

/// <summary>How an external tool run ended and what it printed.</summary>
public sealed record ExternalToolResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}
