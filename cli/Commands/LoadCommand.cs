using System.CommandLine;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Images;
using BuildFarm.Oci;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm load -i FILE</c>: every image of a Docker archive or an OCI layout tar into the local store.</summary>
public static class LoadCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var input = new Option<string?>("--input", "-i") { Description = "Read from tar archive file, instead of STDIN" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Suppress the load output" };
        var platform = new Option<string?>("--platform") { Description = "Platform to load from a multi-platform OCI index (default linux/amd64)" };
        var command = new Command("load", "Load images from a tar archive (docker save format or OCI layout)") { input, quiet, platform };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = parse.GetValue(input);
            if (path is not null && !File.Exists(path)) throw new UsageException($"open {path}: no such file");
            if (path is null && !Console.IsInputRedirected)
                throw new UsageException("requested load from stdin, but stdin is empty (use -i FILE)");
            var wanted = parse.GetValue(platform) is { Length: > 0 } p ? Platform.Parse(p) : Platform.LinuxAmd64;

            using var cache = ContentStoreFactory.Open(environment.Store);
            var scratch = Path.Combine(environment.Home.Temp, $"load-{Environment.ProcessId}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(scratch);
            try
            {
                await using var stream = path is null ? Console.OpenStandardInput() : File.OpenRead(path);
                var loaded = await new ImageArchives(cache.Blobs, new LocalImageStore(environment.Home.Images), scratch)
                    .LoadAsync(stream, wanted, cancellationToken);
                if (!parse.GetValue(quiet))
                    foreach (var image in loaded)
                        Console.WriteLine(image.Name.StartsWith("sha256:", StringComparison.Ordinal)
                            ? $"Loaded image ID: {image.ConfigDigest}"
                            : $"Loaded image: {image.Name}");
                return 0;
            }
            catch (InvalidOciDocumentException e)
            {
                throw new UsageException($"{path ?? "stdin"}: {e.Message}");
            }
            finally
            {
                Directory.Delete(scratch, recursive: true);
            }
        });
        return command;
    }
}
