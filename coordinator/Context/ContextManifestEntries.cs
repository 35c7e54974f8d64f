using Google.Protobuf.Collections;

namespace BuildFarm.Coordinator.Context;

/// <summary>Walked context entries as a manifest sends them (the managed and native clients, the main context and named
/// folders alike), noting a file of each digest for the upload or the possession proof.</summary>
public static class ContextManifestEntries
{
    public static void Add(RepeatedField<Protos.V1.ContextEntry> manifest, IEnumerable<ContextEntry> entries, string root,
        Dictionary<string, string> pathOf)
    {
        foreach (var entry in entries)
        {
            manifest.Add(new Protos.V1.ContextEntry
            {
                Path = entry.Path,
                Mode = (uint)entry.Mode,
                Size = entry.Size,
                Sha256 = entry.Sha256 ?? "",
                LinkTarget = entry.LinkTarget ?? "",
            });
            if (entry.Sha256 is { } digest) pathOf.TryAdd(digest, Path.Combine(root, entry.Path));
        }
    }
}
