using System.CommandLine;
using BuildFarm.Cache;
using BuildFarm.Cli.Containers;
using BuildFarm.Cli.Remote;
using BuildFarm.Coordinator.Images;
using BuildFarm.Protos.V1;
using Grpc.Core;

namespace BuildFarm.Cli.Commands;

/// <summary>
/// <c>buildfarm rmi IMAGE...</c>, as docker (<see cref="ImageRemoval"/>): untag, and delete the blobs of an image whose last
/// name went. A kept container's image stays whole. With <c>--server</c>, on that server's image store.
/// </summary>
public static class RmiCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var names = new Argument<string[]>("IMAGE") { Description = "Image names or IDs to remove", Arity = ArgumentArity.OneOrMore };
        var force = new Option<bool>("--force", "-f") { Description = "Remove an image ID with several names (untags them all)" };
        var server = new Option<string?>("--server") { Description = "Remove from a buildfarm server's image store (HOST:PORT)" };
        var remote = new RemoteOptions();
        var command = new Command("rmi", "Remove one or more images from the local store") { names, force, server };
        foreach (var option in remote.All) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var results = parse.GetValue(server) is { } address
                ? await RemoveOnServerAsync(address, remote, parse, environment, parse.GetValue(names)!, parse.GetValue(force), cancellationToken)
                : await RemoveHereAsync(environment, parse.GetValue(names)!, parse.GetValue(force), cancellationToken);
            if (results is null) return 1;
            var exit = 0;
            foreach (var result in results)
            {
                if (result.Error is { } error)
                {
                    await Console.Error.WriteLineAsync($"Error response: {error}");
                    exit = 1;
                    continue;
                }
                foreach (var name in result.Untagged) Console.WriteLine($"Untagged: {name}");
                foreach (var blob in result.Deleted) Console.WriteLine($"Deleted: {blob}");
            }
            return exit;
        });
        return command;
    }

    private static async Task<IReadOnlyList<ImageRemovalResult>> RemoveHereAsync(CliEnvironment environment, string[] names, bool force,
        CancellationToken cancellationToken)
    {
        var store = new LocalImageStore(environment.Home.Images);
        using var cache = ContentStoreFactory.Open(environment.Store);
        var removal = new ImageRemoval(new ImageRemover(cache, store), store);
        var containers = new ContainerStore(environment.Home.Containers);
        // A kept container's image stays whole (docker refuses too): diff and commit read it.
        async Task<string?> UsedBy(LocalImage image, CancellationToken ct) =>
            (await containers.ListAsync(ct)).FirstOrDefault(c => c.ImageId == image.ConfigDigest) is { } c ? $"container {c.ShortId} ({c.Name})" : null;
        var results = new List<ImageRemovalResult>();
        foreach (var name in names)
            results.Add(await removal.RemoveAsync(name, force, UsedBy, cancellationToken));
        return results;
    }

    private static async Task<IReadOnlyList<ImageRemovalResult>?> RemoveOnServerAsync(string address, RemoteOptions remote, ParseResult parse,
        CliEnvironment environment, string[] names, bool force, CancellationToken cancellationToken)
    {
        var request = new RemoveImagesRequest { Names = { names }, Force = force };
        RemoteEndpoint endpoint;
        try
        {
            endpoint = new RemoteEndpoint(address, remote.Resolve(parse, environment));
        }
        catch (UsageException e)
        {
            await Console.Error.WriteLineAsync($"ERROR: {e.Message}");
            return null;
        }
        using var _ = endpoint;
        try
        {
            var response = await endpoint.Client.RemoveImagesAsync(request, deadline: DateTime.UtcNow.AddMinutes(5), cancellationToken: cancellationToken);
            return [.. response.Results.Select(r => new ImageRemovalResult([.. r.Untagged], [.. r.Deleted], r.Error.Length > 0 ? r.Error : null))];
        }
        catch (RpcException e)
        {
            await Console.Error.WriteLineAsync($"ERROR: {endpoint.Describe(e)}");
            return null;
        }
    }
}
