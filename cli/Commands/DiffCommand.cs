using System.CommandLine;
using BuildFarm.Cache;
using BuildFarm.Cli.Containers;
using BuildFarm.Coordinator.Images;
using BuildFarm.Oci;
using BuildFarm.Worker.Snapshots;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm diff CONTAINER</c>: A/C/D per path of a kept container's writable layer against its image.</summary>
public static class DiffCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var name = new Argument<string>("CONTAINER") { Description = "Container name or ID" };
        var command = new Command("diff", "Inspect changes to files or directories on a container's filesystem") { name };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var containers = new ContainerStore(environment.Home.Containers);
            var container = await containers.FindAsync(parse.GetValue(name)!, cancellationToken);
            if (container is null)
            {
                await Console.Error.WriteLineAsync($"Error response from daemon: No such container: {parse.GetValue(name)}");
                return 1;
            }
            var upper = containers.UpperOf(container);
            if (!Directory.Exists(upper))
            {
                await Console.Error.WriteLineAsync($"Error response from daemon: container {container.Name} has no writable layer (it is still running, or its run failed to start)");
                return 1;
            }
            using var cache = ContentStoreFactory.Open(environment.Store);
            await using var view = await ImageViewAsync(environment, cache.Blobs, container, cancellationToken);
            foreach (var change in ContainerDiff.Compute(upper, view.RootPath, cancellationToken))
                Console.WriteLine(change);
            return 0;
        });
        return command;
    }

    /// <summary>The container's image, mounted read-only: what "changed" and "added" are measured against.</summary>
    private static async Task<ActiveSnapshot> ImageViewAsync(CliEnvironment environment, IContentStore store, ContainerRecord container, CancellationToken cancellationToken)
    {
        var source = new LocalImage { Name = container.Image, ManifestDigest = container.ManifestDigest, ConfigDigest = container.ImageId };
        var image = await StoredImage.ReadAsync(store, source, cancellationToken);
        var chain = image.Manifest.Layers.Select((l, i) => new LayerRef(l, Digest.Parse(image.Config.RootFs.DiffIds[i]))).ToList();
        var snapshotter = new OverlaySnapshotter(store, new OciLayerUnpacker(), new SnapshotterOptions(Path.Combine(environment.Home.Worker, "s")));
        return await snapshotter.ViewAsync(chain, cancellationToken);
    }
}
