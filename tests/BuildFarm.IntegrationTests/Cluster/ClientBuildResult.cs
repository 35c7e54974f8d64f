using BuildFarm.IntegrationTests.EndToEnd;

namespace BuildFarm.IntegrationTests.Cluster;

/// <summary>How one client's build ended: exit code, output, and the image digest it wrote with <c>--iidfile</c>.</summary>
public sealed record ClientBuildResult(int ExitCode, string Stdout, string Stderr, string? Digest, TimeSpan Elapsed)
{
    public bool Succeeded => ExitCode == 0 && Digest is { Length: > 0 };

    public PlainProgress Progress => new(Stderr);

    /// <summary>The spans that RUN steps made with <see cref="RunSpan.Command"/> reported in this build's output.</summary>
    public IReadOnlyList<RunSpan> Spans => RunSpan.Parse(Stderr);

    public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:0.0} s, digest {Digest ?? "(none)"}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}
