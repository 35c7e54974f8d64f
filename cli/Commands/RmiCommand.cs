using System.CommandLine;
using BuildFarm.Cache;
using BuildFarm.Cli.Containers;
using BuildFarm.Coordinator.Images;

namespace BuildFarm.Cli.Commands;

/// <summary>
/// <c>buildfarm rmi IMAGE...</c>, as docker: removing one of several names only untags; removing the last name deletes
/// the image's blobs that no other named image and no step record (the build cache) still uses. An ID with several
/// names, or an image a kept container uses, is refused without <c>--force</c> (which untags but keeps a container's image).
/// </summary>
public static class RmiCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var names = new Argument<string[]>("IMAGE") { Description = "Image names or IDs to remove", Arity = ArgumentArity.OneOrMore };
        var force = new Option<bool>("--force", "-f") { Description = "Remove an image ID with several names (untags them all)" };
        var command = new Command("rmi", "Remove one or more images from the local store") { names, force };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var store = new LocalImageStore(environment.Home.Images);
            using var cache = ContentStoreFactory.Open(environment.Store);
            var remover = new ImageRemover(cache, store);
            var containers = new ContainerStore(environment.Home.Containers);
            var exit = 0;
            foreach (var name in parse.GetValue(names)!)
            {
                var image = await store.FindAsync(name, cancellationToken);
                if (image is null)
                {
                    await Console.Error.WriteLineAsync($"Error response: No such image: {name}");
                    exit = 1;
                    continue;
                }
                var byName = !name.StartsWith("sha256:", StringComparison.Ordinal) && image.Name == LocalImageStore.Normalize(name);
                var all = await store.NamesOfAsync(image.ConfigDigest, cancellationToken);
                if (!byName && all.Count > 1 && !parse.GetValue(force))
                {
                    await Console.Error.WriteLineAsync($"Error response: conflict: unable to delete {image.ShortId} (must be forced) - image is referenced in multiple repositories");
                    exit = 1;
                    continue;
                }
                // A kept container's image stays whole (docker refuses too): diff and commit read it.
                var users = (await containers.ListAsync(cancellationToken)).Where(c => c.ImageId == image.ConfigDigest).ToList();
                var lastName = byName ? all.Count == 1 : true;
                if (lastName && users.Count > 0 && !parse.GetValue(force))
                {
                    await Console.Error.WriteLineAsync($"Error response: conflict: unable to remove {name} (must force) - container {users[0].ShortId} ({users[0].Name}) is using its referenced image {image.ShortId}");
                    exit = 1;
                    continue;
                }
                foreach (var untag in byName ? [image] : all)
                {
                    await store.RemoveAsync(untag.Name, cancellationToken);
                    Console.WriteLine($"Untagged: {untag.Name}");
                }
                if ((await store.NamesOfAsync(image.ConfigDigest, cancellationToken)).Count > 0 || users.Count > 0) continue;
                Console.WriteLine($"Deleted: {image.ConfigDigest}");
                foreach (var blob in await remover.DeleteUnusedAsync(image, cancellationToken))
                    if (blob.ToString() != image.ConfigDigest) Console.WriteLine($"Deleted: {blob}");
            }
            return exit;
        });
        return command;
    }
}
