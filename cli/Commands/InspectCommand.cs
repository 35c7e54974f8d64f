using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using BuildFarm.Cache;
using BuildFarm.Cli.Formatting;
using BuildFarm.Coordinator.Images;

namespace BuildFarm.Cli.Commands;

/// <summary><c>buildfarm inspect IMAGE...</c>: docker-compatible JSON of local images, or <c>--format</c> per image.</summary>
public static class InspectCommand
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, IndentSize = 4, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create(CliEnvironment environment)
    {
        var names = new Argument<string[]>("IMAGE") { Description = "Image names or IDs", Arity = ArgumentArity.OneOrMore };
        var format = new Option<string?>("--format", "-f") { Description = "Format the output using a Go template: {{.Config.Cmd}}, {{json .RootFS}}" };
        var command = new Command("inspect", "Display detailed information on one or more images") { names, format };
        command.SetAction(async (parse, cancellationToken) =>
        {
            GoTemplate? template;
            try
            {
                template = parse.GetValue(format) is { Length: > 0 } f ? GoTemplate.Parse(f) : null;
            }
            catch (FormatException e)
            {
                await Console.Error.WriteLineAsync($"Error: --format: {e.Message}");
                return 1;
            }
            var store = new LocalImageStore(environment.Home.Images);
            using var cache = ContentStoreFactory.Open(environment.Store);
            var documents = new JsonArray();
            var exit = 0;
            foreach (var name in parse.GetValue(names)!)
            {
                var image = await store.FindAsync(name, cancellationToken);
                if (image is null)
                {
                    await Console.Error.WriteLineAsync($"Error: No such image: {name}");
                    exit = 1;
                    continue;
                }
                var stored = await StoredImage.ReadAsync(cache.Blobs, image, cancellationToken);
                var document = DockerInspectDocument.Build(stored, await store.NamesOfAsync(image.ConfigDigest, cancellationToken));
                if (template is null)
                {
                    documents.Add(document);
                    continue;
                }
                try
                {
                    Console.WriteLine(template.Render(document));
                }
                catch (FormatException e)
                {
                    await Console.Error.WriteLineAsync($"Error: --format: {e.Message}");
                    return 1;
                }
            }
            if (template is null) Console.WriteLine(documents.ToJsonString(Indented));
            return exit;
        });
        return command;
    }
}
