using System.Diagnostics.CodeAnalysis;

namespace BuildFarm.Worker.Steps;

/// <summary>ADD: COPY plus http(s) URL sources and auto-extraction of local tar archives.</summary>
public sealed record AddOperation : CopyOperation
{
    public AddOperation()
    {
    }

    /// <summary>An ADD with the same sources, destination and flags as <paramref name="copy"/>.</summary>
    [SetsRequiredMembers]
    public AddOperation(CopyOperation copy) : base(copy)
    {
    }

    /// <summary>--checksum for a URL source (sha256:...).</summary>
    public string? Checksum { get; init; }
    /// <summary>--unpack=false keeps local archives as files.</summary>
    public bool Unpack { get; init; } = true;
    /// <summary>The git sources among <see cref="CopyOperation.Sources"/>, each with its pinned commit.</summary>
    public IReadOnlyList<GitCheckoutSource> GitSources { get; init; } = [];
    /// <summary>--keep-git-dir=true: the checkout keeps its .git folder.</summary>
    public bool KeepGitDir { get; init; }
}
