namespace BuildFarm.Worker.Steps;

/// <summary>COPY (and ADD, see <see cref="AddOperation"/>): sources relative to the context (or to stage
/// <see cref="From"/>), destination absolute or relative to the working directory.</summary>
public record CopyOperation : StepOperation
{
    public required IReadOnlyList<string> Sources { get; init; }
    public required string Destination { get; init; }
    /// <summary>A stage name (key of <see cref="StepRequest.Stages"/>), or null for the build context.</summary>
    public string? From { get; init; }
    /// <summary>--chown user[:group], names resolved from the image's /etc/passwd and /etc/group.</summary>
    public string? Chown { get; init; }
    /// <summary>--chmod, octal (e.g. "755").</summary>
    public string? Chmod { get; init; }
    public IReadOnlyList<string> Excludes { get; init; } = [];
    /// <summary>--link: the layer does not depend on the parent's filesystem.</summary>
    public bool Link { get; init; }
    public bool Parents { get; init; }
    /// <summary><c>COPY &lt;&lt;EOF</c>: each body is written as a file named by its delimiter (0644) and copied
    /// to <see cref="Destination"/> after the other sources, as BuildKit does.</summary>
    public IReadOnlyList<Heredoc> Heredocs { get; init; } = [];
}
