using System.CommandLine;
using BuildFarm.Cache;
using BuildFarm.Cli.Containers;
using BuildFarm.Coordinator.Images;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;
using BuildFarm.Worker.Execution;
using BuildFarm.Worker.Snapshots;

namespace BuildFarm.Cli.Commands;

/// <summary>
/// <c>buildfarm run IMAGE [CMD...]</c>: runs an image of the local store here, with the worker's snapshotter and
/// runc, honouring Entrypoint, Cmd, Env, User and WorkingDir, so an image can be tried without Docker. The
/// container's writes are thrown away when it exits, unless <c>--name</c> keeps the container: then its writable layer
/// (the overlay upper dir, mount stubs removed) stays for <c>diff</c>, <c>commit</c> and <c>rm</c>.
/// </summary>
public static class RunCommand
{
    private const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public static Command Create(CliEnvironment cli)
    {
        var image = new Argument<string>("IMAGE") { Description = "Image name or ID (manifest digest, or a prefix of it)" };
        var command = new Argument<string[]>("COMMAND") { Description = "Command and arguments (replace the image's CMD)", Arity = ArgumentArity.ZeroOrMore };
        var entrypoint = new Option<string?>("--entrypoint") { Description = "Overwrite the default ENTRYPOINT of the image" };
        var env = new Option<string[]>("--env", "-e") { Description = "Set environment variables (K=V)" };
        var user = new Option<string?>("--user", "-u") { Description = "Username or UID (format: <name|uid>[:<group|gid>])" };
        var workdir = new Option<string?>("--workdir", "-w") { Description = "Working directory inside the container" };
        var network = new Option<string>("--network") { Description = "none (default) or host", DefaultValueFactory = _ => "none" };
        network.AcceptOnlyFromAmong("none", "host");
        var name = new Option<string?>("--name") { Description = "Keep the container under this name after it exits (see ps -a, diff, commit, rm)" };
        var run = new Command("run", "Run a command in a new container from a local image")
        {
            image, command, entrypoint, env, user, workdir, network, name,
        };
        // Everything after IMAGE belongs to the container's command, flags included.
        run.TreatUnmatchedTokensAsErrors = false;
        run.SetAction(async (parse, cancellationToken) =>
        {
            var home = cli.Home;
            var found = await new LocalImageStore(home.Images).FindAsync(parse.GetValue(image)!, cancellationToken);
            if (found is null)
            {
                await Console.Error.WriteLineAsync($"Unable to find image '{parse.GetValue(image)}' locally (build it with buildfarm build -t NAME)");
                return 125;
            }
            using var cache = ContentStoreFactory.Open(cli.Store);
            var store = cache.Blobs;
            var manifest = ImageManifest.Parse(await ReadAsync(store, Digest.Parse(found.ManifestDigest), cancellationToken));
            var config = ImageConfig.Parse(await ReadAsync(store, manifest.Config.ParsedDigest, cancellationToken));
            var container = config.Config ?? new ContainerConfig();

            IReadOnlyList<string> entry = parse.GetValue(entrypoint) is { } e ? (e.Length == 0 ? [] : [e]) : container.Entrypoint ?? [];
            var given = (parse.GetValue(command) ?? []).Concat(parse.UnmatchedTokens).ToList();
            IReadOnlyList<string> cmd = given.Count > 0 ? given : parse.GetValue(entrypoint) is null ? container.Cmd ?? [] : [];
            var args = entry.Concat(cmd).ToList();
            if (args.Count == 0)
            {
                await Console.Error.WriteLineAsync("docker: Error response from daemon: no command specified");
                return 125;
            }
            var environment = new List<string>(container.Env ?? []);
            foreach (var kv in parse.GetValue(env) ?? [])
            {
                var name = kv.Split('=')[0];
                environment.RemoveAll(x => x.StartsWith(name + "=", StringComparison.Ordinal));
                environment.Add(kv.Contains('=') ? kv : $"{kv}={cli.Variable(kv)}");
            }
            if (!environment.Any(x => x.StartsWith("PATH=", StringComparison.Ordinal))) environment.Add(DefaultPath);

            ContainerRecord? kept = null;
            var containers = new ContainerStore(home.Containers);
            if (parse.GetValue(name) is { } containerName)
            {
                try
                {
                    kept = await containers.CreateAsync(new ContainerRecord
                    {
                        Id = "", Name = containerName, Image = found.Name, ImageId = found.ConfigDigest, ManifestDigest = found.ManifestDigest,
                        Command = args, Created = DateTimeOffset.UtcNow, Pid = Environment.ProcessId,
                        Config = container with
                        {
                            Entrypoint = entry.Count == 0 ? null : entry,
                            Cmd = cmd.Count == 0 ? null : cmd,
                            Env = environment,
                            WorkingDir = parse.GetValue(workdir) ?? container.WorkingDir,
                            User = parse.GetValue(user) ?? container.User,
                        },
                    }, cancellationToken);
                }
                catch (ArgumentException conflict)
                {
                    await Console.Error.WriteLineAsync($"docker: Error response from daemon: {conflict.Message}");
                    return 125;
                }
            }

            var chain = manifest.Layers.Select((l, i) => new LayerRef(l, Digest.Parse(config.RootFs.DiffIds[i]))).ToList();
            var snapshotter = new OverlaySnapshotter(store, new OciLayerUnpacker(), new SnapshotterOptions(Path.Combine(home.Worker, "s")));
            await using var snapshot = await snapshotter.PrepareAsync(chain, cancellationToken);
            // runc creates missing mount points; they are not the container's changes.
            var stubs = kept is null ? null : new MountStubs(snapshot.RootPath, ["/proc", "/dev", "/sys"]);
            var resolvedUser = UserResolver.Resolve(snapshot.RootPath, parse.GetValue(user) ?? container.User);
            var spec = new ContainerSpec
            {
                Rootfs = snapshot.RootPath,
                Args = args,
                Env = environment,
                WorkingDirectory = parse.GetValue(workdir) ?? (container.WorkingDir is { Length: > 0 } wd ? wd : "/"),
                User = resolvedUser,
                HostNetwork = parse.GetValue(network) == "host",
                Hostname = kept?.ShortId ?? found.ManifestDigest[7..19],
            };
            var executor = new RuncExecutor(new RuncOptions(Path.Combine(home.Worker, "runc"), Path.Combine(home.Worker, "bundles")));
            var output = new ConsoleOutput();
            var exit = 125;
            try
            {
                exit = await executor.RunAsync(spec, output, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                exit = 130;
            }
            finally
            {
                if (kept is not null)
                {
                    // Unmounted first: the upper dir then holds exactly the container's changes, and moves as a folder.
                    await snapshotter.SealAsync(snapshot, CancellationToken.None);
                    stubs!.Remove(snapshot.UpperPath!);
                    Directory.Move(snapshot.UpperPath!, containers.UpperOf(kept));
                    await containers.SaveAsync(kept with { Pid = null, ExitCode = exit, Finished = DateTimeOffset.UtcNow }, CancellationToken.None);
                }
            }
            return exit;
        });
        return run;
    }

    private static async Task<byte[]> ReadAsync(IContentStore store, Digest digest, CancellationToken cancellationToken)
    {
        await using var stream = await store.OpenAsync(digest, cancellationToken);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    /// <summary>Container output to this process's stdout and stderr, line by line as it comes.</summary>
    private sealed class ConsoleOutput : IProgress<OutputLine>
    {
        private readonly Lock _gate = new();

        public void Report(OutputLine value)
        {
            lock (_gate)
            {
                var writer = value.Stream == OutputStream.Stderr ? Console.Error : Console.Out;
                writer.WriteLine(value.Text);
                writer.Flush();
            }
        }
    }
}
