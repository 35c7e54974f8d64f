using System.Security.Cryptography;
using System.Text.Json;
using BuildFarm.Oci.DockerArchive;
using BuildFarm.Oci.FileSystem;
using BuildFarm.Oci.Images;
using BuildFarm.Oci.Layers;
using BuildFarm.Oci.Native;

namespace BuildFarm.IntegrationTests.Conformance;

/// <summary>
/// Turns a Docker archive (ours or BuildKit's <c>docker save</c>) into canonical lines: the image config fields a user
/// sees, the history count and WORKDIR's history entries, and the final file tree (path, type, mode, uid:gid, size, content sha256, link target,
/// hard-link group). Entries equal to the base tree (the busybox rootfs) are left out and base entries the image
/// removed are listed as deleted, so goldens stay small and do not depend on the busybox version.
/// </summary>
public static class ImageTreeNormalizer
{
    public static async Task<IReadOnlyList<string>> NormalizeArchiveAsync(string archivePath, IReadOnlyDictionary<string, string>? baseTree, CancellationToken cancellationToken)
    {
        var work = Directory.CreateTempSubdirectory("bf-conf-norm-").FullName;
        try
        {
            IReadOnlyList<DockerArchiveImage> images;
            await using (var archive = File.OpenRead(archivePath))
                images = await DockerArchiveReader.ExtractAsync(archive, Path.Combine(work, "archive"), cancellationToken);
            if (images.Count != 1) throw new InvalidDataException($"{archivePath}: expected one image, found {images.Count}");
            var image = images[0];
            var rootfs = Path.Combine(work, "rootfs");
            Directory.CreateDirectory(rootfs);
            var applier = new LayerApplier(new LayerApplyOptions { PreserveOwnership = true });
            foreach (var layer in image.LayerTarPaths)
            {
                await using var input = File.OpenRead(layer);
                var compression = await LayerCompressor.DetectAsync(input, cancellationToken);
                await using var tar = LayerCompressor.OpenDecompressed(input, compression);
                await applier.ApplyAsync(tar, rootfs, cancellationToken);
            }
            var lines = ConfigLines(image.Config).ToList();
            var tree = Tree(rootfs, cancellationToken);
            foreach (var (path, line) in tree)
                if (baseTree is null || !baseTree.TryGetValue(path, out var baseLine) || baseLine != line) lines.Add(line);
            if (baseTree is not null)
                foreach (var path in baseTree.Keys.Where(p => !tree.ContainsKey(p)))
                    lines.Add($"{path} deleted");
            return lines;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The tree lines of a layer tar applied on an empty root (the base that case trees are diffed against).</summary>
    public static async Task<IReadOnlyDictionary<string, string>> TreeOfTarAsync(string tarPath, CancellationToken cancellationToken)
    {
        var root = Directory.CreateTempSubdirectory("bf-conf-base-").FullName;
        try
        {
            await using (var tar = File.OpenRead(tarPath))
                await new LayerApplier(new LayerApplyOptions { PreserveOwnership = true }).ApplyAsync(tar, root, cancellationToken);
            return Tree(root, cancellationToken);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static IEnumerable<string> ConfigLines(ImageConfig image)
    {
        var c = image.Config ?? new ContainerConfig();
        yield return "config Env " + Json(c.Env);
        yield return "config Cmd " + Json(c.Cmd);
        yield return "config Entrypoint " + Json(c.Entrypoint);
        yield return "config WorkingDir " + Json(string.IsNullOrEmpty(c.WorkingDir) ? null : c.WorkingDir);
        yield return "config User " + Json(string.IsNullOrEmpty(c.User) ? null : c.User);
        yield return "config Labels " + Json(c.Labels is { Count: > 0 } ? new SortedDictionary<string, string>(c.Labels.ToDictionary(), StringComparer.Ordinal) : null);
        yield return "config ExposedPorts " + Json(c.ExposedPorts is { Count: > 0 } ? c.ExposedPorts.Keys.Order(StringComparer.Ordinal).ToList() : null);
        yield return "config Volumes " + Json(c.Volumes is { Count: > 0 } ? c.Volumes.Keys.Order(StringComparer.Ordinal).ToList() : null);
        yield return "config StopSignal " + Json(string.IsNullOrEmpty(c.StopSignal) ? null : c.StopSignal);
        yield return "config Shell " + Json(c.Shell is { Count: > 0 } ? c.Shell : null);
        yield return "config Healthcheck " + Json(c.Healthcheck is null ? null : new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["Test"] = c.Healthcheck.Test, ["Interval"] = c.Healthcheck.Interval ?? 0, ["Timeout"] = c.Healthcheck.Timeout ?? 0,
            ["StartPeriod"] = c.Healthcheck.StartPeriod ?? 0, ["StartInterval"] = c.Healthcheck.StartInterval ?? 0, ["Retries"] = c.Healthcheck.Retries ?? 0,
        });
        yield return "config OnBuild " + Json(c.OnBuild is { Count: > 0 } ? c.OnBuild : null);
        yield return $"history {image.History?.Count ?? 0}";
        // WORKDIR's entry names the resolved path in BuildKit (WORKDIR rel after /srv records "WORKDIR /srv/rel")
        foreach (var entry in image.History ?? [])
            if (entry.CreatedBy is { } createdBy && createdBy.StartsWith("WORKDIR ", StringComparison.Ordinal))
                yield return "history " + createdBy;
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value);

    /// <summary>Path → canonical line, for every entry below <paramref name="root"/> (the root itself left out).</summary>
    private static SortedDictionary<string, string> Tree(string root, CancellationToken cancellationToken)
    {
        var entries = FileTree.Walk(root, cancellationToken).ToList();
        // hard links: every member of a group names the group's first path (ordinal), so the group is visible in the tree
        var firstOfInode = entries.Where(e => e.Status.Type == FileStatus.Regular && e.Status.LinkCount > 1)
            .GroupBy(e => (e.Status.Device, e.Status.Inode))
            .ToDictionary(g => g.Key, g => "/" + g.Select(e => e.RelativePath).Order(StringComparer.Ordinal).First());
        var tree = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var st = entry.Status;
            var path = "/" + entry.RelativePath;
            var common = $"{Convert.ToString(st.Permissions, 8).PadLeft(4, '0')} {st.Uid}:{st.Gid}";
            tree[path] = st.Type switch
            {
                FileStatus.Directory => $"{path} dir {common}",
                FileStatus.Symlink => $"{path} symlink {common} -> {new FileInfo(entry.FullPath).LinkTarget}",
                FileStatus.Regular => $"{path} file {common} {st.Size} {Sha256(entry.FullPath)}"
                    + (firstOfInode.TryGetValue((st.Device, st.Inode), out var first) && first != path ? $" hardlink={first}" : ""),
                FileStatus.CharDevice => $"{path} char {common} {st.DeviceMajor}:{st.DeviceMinor}",
                FileStatus.BlockDevice => $"{path} block {common} {st.DeviceMajor}:{st.DeviceMinor}",
                FileStatus.Fifo => $"{path} fifo {common}",
                _ => $"{path} type-{st.Type:x} {common}",
            };
        }
        return tree;
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream))[..16];
    }
}
