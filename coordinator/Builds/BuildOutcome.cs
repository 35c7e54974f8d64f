using BuildFarm.Protos.Cluster;

namespace BuildFarm.Coordinator.Builds;

/// <summary>How a build ended: the image it made, or where and why it failed.</summary>
public sealed record BuildOutcome
{
    public bool Success { get; init; }
    public bool Canceled { get; init; }
    public string? ManifestDigest { get; init; }
    public string? ConfigDigest { get; init; }
    /// <summary>What <see cref="ManifestDigest"/> names: an OCI image manifest, or a multi-platform build's image index
    /// (then <see cref="ConfigDigest"/> is empty, as BuildKit's exporter leaves containerimage.config.digest out).</summary>
    public string ManifestMediaType { get; init; } = "";
    /// <summary>The byte size of that manifest or index (its descriptor's size).</summary>
    public long ManifestSize { get; init; }
    /// <summary>The build's id (what <c>buildfarm watch</c> and <c>cancel</c> take); buildx's build ref names it.</summary>
    public string BuildId { get; init; } = "";
    public IReadOnlyList<string> ImageNames { get; init; } = [];
    public long ImageSize { get; init; }
    public int StepsExecuted { get; init; }
    public int StepsCached { get; init; }
    public string Error { get; init; } = "";
    /// <summary>"Dockerfile:12" when the error belongs to an instruction.</summary>
    public string ErrorLocation { get; init; } = "";
    public string ErrorInstruction { get; init; } = "";
    public IReadOnlyList<string> LogTail { get; init; } = [];
    public int ExitCode { get; init; }
    /// <summary>Why it failed, by class: the CLI reports (and a caller retries) by this, not by exception type.</summary>
    public ErrorClass ErrorClass { get; init; }

    /// <summary>The Dockerfile checks' findings (BuildKit's lint warnings), in source order.</summary>
    public IReadOnlyList<Dockerfile.Lint.LintWarning> LintWarnings { get; init; } = [];

    /// <summary><c>--call=check</c>: only the checks ran; <see cref="Success"/> means they ran (whatever they found).</summary>
    public bool CheckOnly { get; init; }

    /// <summary><c>--call=outline|targets</c>: BuildKit's answer as JSON (result.json; nothing was built); null for a build or a
    /// check. (Plain strings: the native client shares this file.)</summary>
    public string? CallJson { get; init; }

    /// <summary>The same answer as buildx's table (result.txt).</summary>
    public string CallText { get; init; } = "";
}
