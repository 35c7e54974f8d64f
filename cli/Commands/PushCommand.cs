using System.CommandLine;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Images;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm push NAME[:TAG]</c>: a local image to the registry its name points at; prints the pushed digest.</summary>
public static class PushCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var name = new Argument<string>("NAME") { Description = "NAME[:TAG] of a local image (tag it first: buildfarm tag app REGISTRY/REPO:TAG)" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print only the pushed digest" };
        var command = new Command("push", "Upload an image to a registry") { name, quiet };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var images = new LocalImageStore(environment.Home.Images);
            var text = parse.GetValue(name)!;
            var image = text.StartsWith("sha256:", StringComparison.Ordinal) ? null : await images.FindAsync(text, cancellationToken);
            if (image is null || image.Name != LocalImageStore.Normalize(text))
            {
                await Console.Error.WriteLineAsync($"An image does not exist locally with the tag: {text}");
                return 1;
            }
            using var cache = ContentStoreFactory.Open(environment.Store);
            using var client = RegistryClients.Create(environment);
            var scratch = Path.Combine(environment.Home.Temp, $"push-{Environment.ProcessId}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(scratch);
            try
            {
                var isQuiet = parse.GetValue(quiet);
                var pusher = new ImagePusher(cache.Blobs, client, images, scratch);
                var digest = await pusher.PushAsync(image, new StatusLines(isQuiet ? null : Console.Out), cancellationToken);
                if (isQuiet) Console.WriteLine(digest);
                return 0;
            }
            finally
            {
                Directory.Delete(scratch, recursive: true);
            }
        });
        return command;
    }
}
