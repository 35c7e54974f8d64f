using System.CommandLine;
using BuildFarm.Cache;
using BuildFarm.Cli.Containers;
using BuildFarm.Coordinator.Images;
using BuildFarm.Oci.Registry;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm commit CONTAINER NAME[:TAG]</c>: a kept container's writable layer as a new image.</summary>
public static class CommitCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var name = new Argument<string>("CONTAINER") { Description = "Container name or ID" };
        var target = new Argument<string>("REPOSITORY[:TAG]") { Description = "Name of the new image" };
        var author = new Option<string?>("--author", "-a") { Description = "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")" };
        var message = new Option<string?>("--message", "-m") { Description = "Commit message (the history entry's comment)" };
        var change = new Option<string[]>("--change", "-c") { Description = "Apply a Dockerfile instruction to the image config: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL" };
        var command = new Command("commit", "Create a new image from a container's changes") { name, target, author, message, change };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var containers = new ContainerStore(environment.Home.Containers);
            var container = await containers.FindAsync(parse.GetValue(name)!, cancellationToken)
                            ?? throw new UsageException($"No such container: {parse.GetValue(name)}");
            var upper = containers.UpperOf(container);
            if (!Directory.Exists(upper))
                throw new UsageException($"container {container.Name} has no writable layer (it is still running, or its run failed to start)");
            var imageName = parse.GetValue(target)!;
            var error = imageName.Contains('@') ? "a new image name cannot hold a digest" : ImageReference.TryParse(imageName, out _, out var why) ? null : why;
            if (error is not null) throw new UsageException($"invalid reference format: \"{imageName}\": {error}");
            // Checked before any layer is written: a bad --change costs nothing.
            try { CommitChanges.Apply(new BuildFarm.Oci.Images.ContainerConfig(), parse.GetValue(change) ?? []); }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            using var cache = ContentStoreFactory.Open(environment.Store);
            var committer = new ContainerCommitter(cache.Blobs, new LocalImageStore(environment.Home.Images), Path.Combine(environment.Home.Temp, "commit"));
            var image = await committer.CommitAsync(container, upper, imageName, parse.GetValue(author), parse.GetValue(message), parse.GetValue(change) ?? [], cancellationToken);
            Console.WriteLine(image.ConfigDigest);
            return 0;
        });
        return command;
    }
}
