using System.CommandLine;
using BuildFarm.Cli.Remote;
using BuildFarm.Coordinator.Images;
using Grpc.Core;
using BuildFarm.Protos.V1;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm images</c>: the images of this machine by name (like <c>docker images</c>); the ID is the config digest.
/// With <c>--server</c>, the images of that server's store.</summary>
public static class ImagesCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only show image IDs" };
        var noTrunc = new Option<bool>("--no-trunc") { Description = "Don't truncate output" };
        var digests = new Option<bool>("--digests") { Description = "Show digests" };
        var server = new Option<string?>("--server") { Description = "List the images of a buildfarm server (HOST:PORT)" };
        var remote = new RemoteOptions();
        var command = new Command("images", "List images in the local store") { quiet, noTrunc, digests, server };
        foreach (var option in remote.All) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            IReadOnlyList<LocalImage> images;
            if (parse.GetValue(server) is { } address)
            {
                RemoteEndpoint endpoint;
                try
                {
                    endpoint = new RemoteEndpoint(address, remote.Resolve(parse, environment));
                }
                catch (UsageException e)
                {
                    await Console.Error.WriteLineAsync($"ERROR: {e.Message}");
                    return 1;
                }
                using var _ = endpoint;
                try
                {
                    images = await ListOnServerAsync(endpoint, cancellationToken);
                }
                catch (RpcException e)
                {
                    await Console.Error.WriteLineAsync($"ERROR: {endpoint.Describe(e)}");
                    return 1;
                }
            }
            else
            {
                images = await new LocalImageStore(environment.Home.Images).ListAsync(cancellationToken);
            }
            var full = parse.GetValue(noTrunc);
            string Id(LocalImage i) => full ? i.ConfigDigest : i.ShortId;
            if (parse.GetValue(quiet))
            {
                // One line per image, not per name, as docker prints it.
                foreach (var id in images.Select(Id).Distinct()) Console.WriteLine(id);
                return 0;
            }
            var showDigests = parse.GetValue(digests);
            Console.WriteLine($"{"REPOSITORY",-40} {"TAG",-16} {(showDigests ? $"{"DIGEST",-71} " : "")}{"IMAGE ID",-14} {"CREATED",-20} SIZE");
            foreach (var image in images)
            {
                var colon = image.Name.LastIndexOf(':');
                var slash = image.Name.LastIndexOf('/');
                var at = image.Name.IndexOf('@');
                var (repo, tag) = image.Name.StartsWith("sha256:", StringComparison.Ordinal) ? ("<none>", "<none>") // loaded without a name
                    : at >= 0 ? (image.Name[..at], "<none>") // pulled by digest
                    : colon > slash ? (image.Name[..colon], image.Name[(colon + 1)..]) : (image.Name, "<none>");
                var digest = showDigests ? $"{image.RootDigest,-71} " : ""; // a multi-platform image: its index
                Console.WriteLine($"{repo,-40} {tag,-16} {digest}{Id(image),-14} {Ago(image.Created),-20} {HumanSize(image.Size)}");
            }
            return 0;
        });
        return command;
    }

    private static async Task<IReadOnlyList<LocalImage>> ListOnServerAsync(RemoteEndpoint endpoint, CancellationToken cancellationToken)
    {
        var response = await endpoint.Client.ListImagesAsync(new ListImagesRequest(), deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: cancellationToken);
        return [.. response.Images.Select(i => new LocalImage
        {
            Name = i.Name,
            ManifestDigest = i.ManifestDigest,
            ConfigDigest = i.ConfigDigest,
            IndexDigest = i.IndexDigest is { Length: > 0 } index ? index : null,
            Size = i.Size,
            Created = DateTimeOffset.FromUnixTimeMilliseconds(i.CreatedUnixMs),
        })];
    }

    private static string Ago(DateTimeOffset created)
    {
        var age = DateTimeOffset.UtcNow - created;
        return age.TotalMinutes < 1 ? "less than a minute ago"
            : age.TotalHours < 1 ? $"{(int)age.TotalMinutes} minutes ago"
            : age.TotalDays < 1 ? $"{(int)age.TotalHours} hours ago"
            : $"{(int)age.TotalDays} days ago";
    }

    public static string HumanSize(long bytes) => bytes switch
    {
        < 1000 => $"{bytes}B",
        < 1_000_000 => $"{bytes / 1e3:0.##}kB",
        < 1_000_000_000 => $"{bytes / 1e6:0.##}MB",
        _ => $"{bytes / 1e9:0.##}GB",
    };
}
