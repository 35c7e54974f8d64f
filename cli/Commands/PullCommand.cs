using System.CommandLine;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Images;
using BuildFarm.Oci;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm pull NAME[:TAG|@DIGEST]</c>: an image from a registry into the local store, downloading only
/// the layers the cache lacks.</summary>
public static class PullCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var name = new Argument<string>("NAME") { Description = "NAME[:TAG|@DIGEST]" };
        var platform = new Option<string?>("--platform") { Description = "Platform of a multi-platform image (default linux/amd64)" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Suppress verbose output" };
        var command = new Command("pull", "Download an image from a registry") { name, platform, quiet };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var wanted = parse.GetValue(platform) is { Length: > 0 } p ? Platform.Parse(p) : Platform.LinuxAmd64;
            using var cache = ContentStoreFactory.Open(environment.Store);
            using var client = RegistryClients.Create(environment);
            var puller = new ImagePuller(cache.Blobs, client, new LocalImageStore(environment.Home.Images));
            var isQuiet = parse.GetValue(quiet);
            var image = await puller.PullAsync(parse.GetValue(name)!, wanted, new StatusLines(isQuiet ? null : Console.Out), cancellationToken);
            Console.WriteLine(image.Name);
            return 0;
        });
        return command;
    }
}
