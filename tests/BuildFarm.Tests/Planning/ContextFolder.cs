using BuildFarm.Coordinator.Images;
using BuildFarm.Coordinator.Planning;
using BuildFarm.Oci.Images;
using BuildFarm.TestSupport;
using BuildFarm.Coordinator.Builds;
using BuildFarm.Coordinator.Context;

namespace BuildFarm.Tests.Planning;

/// <summary>A build context on disk, opened the way a build opens it (<see cref="BuildContext"/>), so key tests go
/// through the production context checksum.</summary>
public sealed class ContextFolder : IDisposable
{
    private static readonly ImageConfig Config = new() { Architecture = "amd64", Os = "linux", RootFs = new RootFs { DiffIds = [] } };

    private readonly TempDirectory _dir = new();

    public string Root => _dir.Combine("ctx");

    public ContextFolder(params (string Path, string Content)[] files)
    {
        Directory.CreateDirectory(Root);
        foreach (var (path, content) in files) Write(path, content);
    }

    public ContextFolder Write(string path, string content)
    {
        var full = Path.Combine(Root, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return this;
    }

    public async Task<string> ChecksumAsync(ContextSelection selection)
    {
        using var context = await BuildContext.OpenAsync(Root, null, _dir.Combine("scratch"), CancellationToken.None);
        return context.Checksum(selection);
    }

    /// <summary>Fills the plan's keys as a build does: every image named by <paramref name="images"/> pinned to its digest.</summary>
    public async Task<PlanKeys> KeysAsync(BuildPlan plan, IReadOnlyDictionary<string, string> images, CancellationToken cancellationToken = default)
    {
        using var context = await BuildContext.OpenAsync(Root, null, _dir.Combine("scratch"), cancellationToken);
        var pinned = images.ToDictionary(p => p.Key, p => new ResolvedImage(p.Key, p.Value, Config, []), StringComparer.Ordinal);
        return await plan.ComputeKeysAsync(new ResolvingInputs(pinned, context), cancellationToken);
    }

    public void Dispose() => _dir.Dispose();
}
