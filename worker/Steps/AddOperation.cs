namespace BuildFarm.Worker.Steps;

/// <summary>ADD: COPY plus http(s) URL sources and auto-extraction of local tar archives.</summary>
public sealed record AddOperation : CopyOperation
{
    /// <summary>--checksum for a URL source (sha256:...).</summary>
    public string? Checksum { get; init; }
    /// <summary>--unpack=false keeps local archives as files.</summary>
    public bool Unpack { get; init; } = true;
}
