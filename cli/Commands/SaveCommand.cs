using System.CommandLine;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Images;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm save -o FILE IMAGE...</c>: local images into one Docker archive (<c>docker load</c> reads it) or,
/// with <c>--format oci</c>, an OCI image layout tar.</summary>
public static class SaveCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var names = new Argument<string[]>("IMAGE") { Description = "Image names or IDs", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string?>("--output", "-o") { Description = "Write to a file, instead of STDOUT" };
        var format = new Option<string>("--format") { Description = "docker (docker save/load archive) or oci (OCI image layout tar)", DefaultValueFactory = _ => "docker" };
        format.AcceptOnlyFromAmong("docker", "oci");
        var command = new Command("save", "Save one or more images to a tar archive") { names, output, format };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var images = new LocalImageStore(environment.Home.Images);
            var selected = new List<(string, LocalImage)>();
            foreach (var name in parse.GetValue(names)!)
                selected.Add((name, await images.FindAsync(name, cancellationToken) ?? throw new UsageException($"No such image: {name}")));
            var destination = parse.GetValue(output);
            if (destination is null && !Console.IsOutputRedirected)
                throw new UsageException("cowardly refusing to save to a terminal. Use the -o flag or redirect");

            using var cache = ContentStoreFactory.Open(environment.Store);
            var scratch = Path.Combine(environment.Home.Temp, $"save-{Environment.ProcessId}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(scratch);
            try
            {
                var archives = new ImageArchives(cache.Blobs, images, scratch);
                Func<Stream, Task> write = parse.GetValue(format) == "oci"
                    ? stream => archives.SaveOciAsync(selected, stream, cancellationToken)
                    : stream => archives.SaveDockerAsync(selected, stream, cancellationToken);
                if (destination is null)
                {
                    await using var stdout = Console.OpenStandardOutput();
                    await write(stdout);
                    return 0;
                }
                // Written beside the target and renamed: a failed save never leaves half an archive under the name.
                var full = Path.GetFullPath(destination);
                var temp = $"{full}.{Environment.ProcessId}.tmp";
                try
                {
                    await using (var file = File.Create(temp)) await write(file);
                    File.Move(temp, full, overwrite: true);
                }
                finally
                {
                    File.Delete(temp);
                }
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
