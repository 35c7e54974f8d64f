using System.CommandLine;
using BuildFarm.Cache;
using BuildFarm.Cli.Formatting;
using BuildFarm.Coordinator.Images;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm history IMAGE</c>: one line per history entry, newest first, with the layer it made here, or
/// <c>&lt;missing&gt;</c> for an empty layer or a layer of a base made elsewhere (as docker shows pulled images).</summary>
public static class HistoryCommand
{
    private const int CreatedByWidth = 45;

    public static Command Create(CliEnvironment environment)
    {
        var name = new Argument<string>("IMAGE") { Description = "Image name or ID" };
        var noTrunc = new Option<bool>("--no-trunc") { Description = "Don't truncate output" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only show layer IDs" };
        var command = new Command("history", "Show the history of an image") { name, noTrunc, quiet };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var store = new LocalImageStore(environment.Home.Images);
            var found = await store.FindAsync(parse.GetValue(name)!, cancellationToken);
            if (found is null)
            {
                await Console.Error.WriteLineAsync($"Error response: No such image: {parse.GetValue(name)}");
                return 1;
            }
            using var cache = ContentStoreFactory.Open(environment.Store);
            var image = await StoredImage.ReadAsync(cache.Blobs, found, cancellationToken);
            var lines = await ImageHistory.ReadAsync(image, cache.Records, cancellationToken);
            var full = parse.GetValue(noTrunc);
            string Id(string? layer) => layer is null ? "<missing>" : full ? layer : layer[7..19];
            if (parse.GetValue(quiet))
            {
                foreach (var line in lines) Console.WriteLine(Id(line.Layer));
                return 0;
            }
            var idWidth = full ? 71 : 12;
            Console.WriteLine($"{"IMAGE".PadRight(idWidth)}   {"CREATED",-24}{"CREATED BY".PadRight(full ? 0 : CreatedByWidth + 3)}{(full ? "   " : "")}{"SIZE",-10}COMMENT");
            foreach (var line in lines)
            {
                var createdBy = line.CreatedBy.Replace('\n', ' ').Replace('\t', ' ');
                if (!full && createdBy.Length > CreatedByWidth) createdBy = createdBy[..(CreatedByWidth - 1)] + "…";
                var created = line.Created is { } c ? HumanTime.Ago(c) : "<missing>";
                Console.WriteLine($"{Id(line.Layer).PadRight(idWidth)}   {created,-22}  {(full ? createdBy + "   " : createdBy.PadRight(CreatedByWidth + 3))}{ImagesCommand.HumanSize(line.Size),-10}{line.Comment}");
            }
            return 0;
        });
        return command;
    }
}
