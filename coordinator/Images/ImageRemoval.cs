namespace BuildFarm.Coordinator.Images;

/// <summary>
/// <c>rmi</c> as docker: removing one of several names only untags; removing the last name deletes the image's blobs that
/// no other named image and no step record still uses. An ID with several names is refused without force; so is an image
/// something else uses (<paramref name="usedBy"/>: the CLI's kept containers; a server has none), which force untags but keeps.
/// </summary>
public sealed class ImageRemoval(ImageRemover remover, LocalImageStore store)
{
    public async Task<ImageRemovalResult> RemoveAsync(string name, bool force, Func<LocalImage, CancellationToken, Task<string?>> usedBy,
        CancellationToken cancellationToken)
    {
        var image = await store.FindAsync(name, cancellationToken);
        if (image is null) return ImageRemovalResult.Failed($"No such image: {name}");
        var byName = !name.StartsWith("sha256:", StringComparison.Ordinal) && image.Name == LocalImageStore.Normalize(name);
        var all = await store.NamesOfAsync(image.ConfigDigest, cancellationToken);
        if (!byName && all.Count > 1 && !force)
            return ImageRemovalResult.Failed($"conflict: unable to delete {image.ShortId} (must be forced) - image is referenced in multiple repositories");
        var lastName = !byName || all.Count == 1;
        var user = lastName ? await usedBy(image, cancellationToken) : null;
        if (user is not null && !force)
            return ImageRemovalResult.Failed($"conflict: unable to remove {name} (must force) - {user} is using its referenced image {image.ShortId}");
        var untagged = new List<string>();
        foreach (var untag in byName ? [image] : all)
        {
            await store.RemoveAsync(untag.Name, cancellationToken);
            untagged.Add(untag.Name);
        }
        if ((await store.NamesOfAsync(image.ConfigDigest, cancellationToken)).Count > 0 || user is not null)
            return new ImageRemovalResult(untagged, [], null);
        var deleted = new List<string> { image.ConfigDigest };
        foreach (var blob in await remover.DeleteUnusedAsync(image, cancellationToken))
            if (blob.ToString() != image.ConfigDigest) deleted.Add(blob.ToString());
        return new ImageRemovalResult(untagged, deleted, null);
    }
}
