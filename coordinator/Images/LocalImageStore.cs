using System.Text.Json;

namespace BuildFarm.Coordinator.Images;

/// <summary>
/// Image names of this machine (like `docker images`), in one JSON file under BUILDFARM_HOME.
/// Several buildfarm processes may share the folder: every change happens under an exclusive lock
/// file and replaces the index atomically, so readers never see half a file. Changes asked for in this process while a
/// write is going on are applied together by the next write (see <see cref="BatchedUpdates{TState}"/>).
/// </summary>
public sealed class LocalImageStore
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
    private readonly string _root;
    private readonly string _indexPath;
    private readonly string _lockPath;
    // The resident engine names 8 identical builds' images at the same moment: their changes share one write instead of
    // queueing one by one on the lock file.
    private readonly BatchedUpdates<Dictionary<string, LocalImage>> _updates;

    public LocalImageStore(string root)
    {
        _root = root;
        _indexPath = Path.Combine(root, "images.json");
        _lockPath = Path.Combine(root, "images.lock");
        _updates = new BatchedUpdates<Dictionary<string, LocalImage>>(WriteAsync);
    }

    /// <summary>Adds ":latest" to a name without a tag or digest, as docker does.</summary>
    public static string Normalize(string name)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("an image name is required", nameof(name));
        if (name.Contains('@')) return name;
        var lastSlash = name.LastIndexOf('/');
        return name.IndexOf(':', lastSlash + 1) >= 0 ? name : name + ":latest";
    }

    public async Task<IReadOnlyList<LocalImage>> ListAsync(CancellationToken cancellationToken)
    {
        var images = await ReadAsync(cancellationToken);
        return [.. images.Values.OrderBy(i => i.Name, StringComparer.Ordinal)];
    }

    /// <summary>Finds an image by name, or by its ID (config digest) or manifest digest, whole or a prefix of at least
    /// 4 hex characters, as docker does.</summary>
    public async Task<LocalImage?> FindAsync(string nameOrDigest, CancellationToken cancellationToken)
    {
        var images = await ReadAsync(cancellationToken);
        if (IsName(nameOrDigest) && images.TryGetValue(Normalize(nameOrDigest), out var byName)) return byName;
        var hex = nameOrDigest.StartsWith("sha256:", StringComparison.Ordinal) ? nameOrDigest[7..] : nameOrDigest;
        if (hex.Length < 4 || !hex.All(Uri.IsHexDigit)) return null;
        return images.Values.OrderBy(i => i.Name, StringComparer.Ordinal).FirstOrDefault(i => i.ConfigDigest[7..].StartsWith(hex, StringComparison.Ordinal))
               ?? images.Values.OrderBy(i => i.Name, StringComparer.Ordinal).FirstOrDefault(i => i.ManifestDigest[7..].StartsWith(hex, StringComparison.Ordinal));
    }

    /// <summary>Every name of the image with this ID (config digest).</summary>
    public async Task<IReadOnlyList<LocalImage>> NamesOfAsync(string configDigest, CancellationToken cancellationToken) =>
        [.. (await ListAsync(cancellationToken)).Where(i => i.ConfigDigest == configDigest)];

    /// <summary>Records that <paramref name="repoDigest"/> (repo@sha256:…) names the image behind <paramref name="name"/>.</summary>
    public Task AddRepoDigestAsync(string name, string repoDigest, CancellationToken cancellationToken)
    {
        // Checked before the change joins a batch: a bad name fails its own caller, not the others' write.
        var normalized = Normalize(name);
        return UpdateAsync(images =>
        {
            if (!images.TryGetValue(normalized, out var image)) return;
            var repo = repoDigest[..repoDigest.IndexOf('@')];
            var kept = (image.RepoDigests ?? []).Where(d => !d.StartsWith(repo + "@", StringComparison.Ordinal));
            images[image.Name] = image with { RepoDigests = [.. kept.Append(repoDigest).Order(StringComparer.Ordinal)] };
        }, cancellationToken);
    }

    // "sha256:…" and bare hex are IDs, never names (docker refuses 64-hex repository names too).
    private static bool IsName(string text) => !text.StartsWith("sha256:", StringComparison.Ordinal);

    public Task TagAsync(LocalImage image, CancellationToken cancellationToken)
    {
        var named = image with { Name = Normalize(image.Name) };
        return UpdateAsync(images => images[named.Name] = named, cancellationToken);
    }

    /// <summary>Removes a name; returns the removed record, or null when there was no such name.</summary>
    public async Task<LocalImage?> RemoveAsync(string name, CancellationToken cancellationToken)
    {
        LocalImage? removed = null;
        var normalized = Normalize(name);
        await UpdateAsync(images => images.Remove(normalized, out removed), cancellationToken);
        return removed;
    }

    private Task UpdateAsync(Action<Dictionary<string, LocalImage>> change, CancellationToken cancellationToken) =>
        _updates.ApplyAsync(change, cancellationToken);

    /// <summary>One batch of changes: one lock, one read, one atomic write, however many builds asked at once.</summary>
    private async Task WriteAsync(IReadOnlyList<Action<Dictionary<string, LocalImage>>> changes)
    {
        Directory.CreateDirectory(_root);
        // Not the callers' tokens: the batch is theirs together, and one that leaves must not abort the others' write.
        await using var held = await FileLock.AcquireAsync(_lockPath, CancellationToken.None);
        var images = await ReadAsync(CancellationToken.None);
        foreach (var change in changes) change(images);
        var temp = $"{_indexPath}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        await File.WriteAllBytesAsync(temp, JsonSerializer.SerializeToUtf8Bytes(images, Json), CancellationToken.None);
        File.Move(temp, _indexPath, overwrite: true);
    }

    private async Task<Dictionary<string, LocalImage>> ReadAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(_indexPath)) return new(StringComparer.Ordinal);
        await using var stream = File.OpenRead(_indexPath);
        return await JsonSerializer.DeserializeAsync<Dictionary<string, LocalImage>>(stream, Json, cancellationToken)
               ?? new(StringComparer.Ordinal);
    }
}
