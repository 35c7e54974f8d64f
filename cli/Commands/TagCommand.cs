using System.CommandLine;
using BuildFarm.Coordinator.Images;
using BuildFarm.Oci.Registry;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm tag SOURCE TARGET</c>: one more name for an image (a tag is a movable name; the digest is fixed).</summary>
public static class TagCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var source = new Argument<string>("SOURCE_IMAGE") { Description = "Image name or ID" };
        var target = new Argument<string>("TARGET_IMAGE") { Description = "New name: [REGISTRY/]REPOSITORY[:TAG]" };
        var command = new Command("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE") { source, target };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var store = new LocalImageStore(environment.Home.Images);
            var from = parse.GetValue(source)!;
            var to = parse.GetValue(target)!;
            var error = to.Contains('@') ? "a tag cannot hold a digest" : ImageReference.TryParse(to, out _, out var why) ? null : why;
            if (error is not null)
            {
                await Console.Error.WriteLineAsync($"Error parsing reference: \"{to}\" is not a valid repository/tag: {error}");
                return 1;
            }
            var image = await store.FindAsync(from, cancellationToken);
            if (image is null)
            {
                await Console.Error.WriteLineAsync($"Error response: No such image: {from}");
                return 1;
            }
            await store.TagAsync(image with { Name = to, RepoDigests = image.RepoDigests }, cancellationToken);
            return 0;
        });
        return command;
    }
}
