using System.Text.Json;
using System.Text.Json.Nodes;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;
using Json.Schema;

namespace BuildFarm.Tests.Oci;

/// <summary>
/// Validates documents the way image-spec's schema tests do: decode into our types (a JSON type mismatch fails),
/// run our semantic checks, and evaluate the OCI JSON schema for the media type. The draft-04 schemas are
/// registered under every URL of schema-map.json (in memory, files untouched) and evaluated with the draft-06
/// dialect, which reads them the same way; "format" is an assertion.
/// </summary>
public sealed class OciSchemaValidator
{
    public static string CorpusDirectory => Path.Combine(AppContext.BaseDirectory, "TestData", "corpus", "oci-image-spec-schema");

    private readonly Dictionary<string, JsonSchema> _byMediaType = new(StringComparer.Ordinal);
    private readonly EvaluationOptions _evaluation = new() { RequireFormatValidation = true, OutputFormat = OutputFormat.List };

    public OciSchemaValidator()
    {
        var map = JsonNode.Parse(File.ReadAllText(Path.Combine(CorpusDirectory, "schema-map.json")))!;
        var build = new BuildOptions { SchemaRegistry = new SchemaRegistry(), Dialect = Dialect.Draft06 };
        var primary = new Dictionary<string, JsonSchema>(StringComparer.Ordinal);
        foreach (var (file, urls) in map["schemaURLs"]!.AsObject())
        {
            var node = JsonNode.Parse(File.ReadAllText(Path.Combine(CorpusDirectory, file)))!.AsObject();
            node.Remove("$schema"); // draft-04 has no dialect of its own here; draft-06 keywords mean the same for these files
            var text = node.ToJsonString();
            foreach (var url in urls!.AsArray())
            {
                var schema = JsonSchema.FromText(text, build, new Uri(url!.GetValue<string>()));
                build.SchemaRegistry.Register(new Uri(url.GetValue<string>()), schema);
                primary.TryAdd(file, schema);
            }
        }
        foreach (var (mediaType, file) in map["mediaTypeToSchema"]!.AsObject())
            _byMediaType[mediaType] = primary[file!.GetValue<string>()];
    }

    /// <summary>Null when the document is valid for the media type; otherwise why not.</summary>
    public string? Check(string mediaType, string document)
    {
        try
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(document);
            switch (mediaType)
            {
                case MediaTypes.OciManifest: ImageManifest.Parse(bytes); break;
                case MediaTypes.OciIndex: ImageIndex.Parse(bytes); break;
                case MediaTypes.OciConfig: ImageConfig.Parse(bytes); break;
                case MediaTypes.OciDescriptor: OciJson.Deserialize<Descriptor>(bytes).Validate(); break;
                case MediaTypes.OciLayoutHeader: OciJson.Deserialize<ImageLayoutHeader>(bytes); break;
                default: return $"no schema for media type {mediaType}";
            }
        }
        catch (InvalidOciDocumentException e)
        {
            return "decode: " + e.Message;
        }

        using var json = JsonDocument.Parse(document);
        var result = _byMediaType[mediaType].Evaluate(json.RootElement, _evaluation);
        if (result.IsValid) return null;
        var errors = (result.Details ?? [])
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"));
        return "schema: " + string.Join("; ", errors.DefaultIfEmpty("invalid"));
    }

    public void AssertValid(string mediaType, byte[] document)
    {
        var problem = Check(mediaType, System.Text.Encoding.UTF8.GetString(document));
        Assert.True(problem is null, $"{mediaType} document does not validate: {problem}\n{System.Text.Encoding.UTF8.GetString(document)}");
    }
}
