namespace BuildFarm.Oci.Git;

/// <summary>What one git command did: its exit code and its output.</summary>
public sealed record GitResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The first <paramref name="count"/> non-empty lines of stderr joined with "; " (git's reason), or a generic
    /// text when it said nothing.</summary>
    public string Reason(int count = 1)
    {
        var lines = Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(count).ToList();
        return lines.Count > 0 ? string.Join("; ", lines) : "git exited with an error";
    }
}
