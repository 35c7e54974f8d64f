using System.Text.Json.Nodes;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;

namespace BuildFarm.Tests.Oci;

public class SchemaValidationTests(OciSchemaValidator validator) : IClassFixture<OciSchemaValidator>
{

    public static TheoryData<SchemaValidationCase> Cases()
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(OciSchemaValidator.CorpusDirectory, "validation-cases.json")))!;
        var data = new TheoryData<SchemaValidationCase>();
        foreach (var table in root["tables"]!.AsArray())
        {
            var i = 0;
            foreach (var c in table!["cases"]!.AsArray())
                data.Add(new SchemaValidationCase($"{table["test"]}#{i++}: {c!["comment"]}", table["mediaType"]!.GetValue<string>(), c["document"]!.GetValue<string>(), c["fail"]!.GetValue<bool>()));
        }
        var compat = root["backwardsCompatibility"]!;
        var mapping = compat["dockerToOciMediaTypes"]!.AsObject();
        foreach (var table in compat["tables"]!.AsArray())
        {
            var i = 0;
            foreach (var c in table!["cases"]!.AsArray())
                data.Add(new SchemaValidationCase($"{table["test"]}#{i++}", table["mediaType"]!.GetValue<string>(), c!["document"]!.GetValue<string>(), c["fail"]!.GetValue<bool>(), c["sha256Digest"]!.GetValue<string>()));
        }
        var j = 0;
        foreach (var c in root["specExamples"]!["cases"]!.AsArray())
            data.Add(new SchemaValidationCase($"spec {c!["file"]}#{j++}: {c["title"]}", c["mediaType"]!.GetValue<string>(), c["document"]!.GetValue<string>(), c["fail"]!.GetValue<bool>()));
        return data;
    }

    [Fact]
    public void Corpus_holds_all_81_cases()
    {
        Assert.Equal(81, ((IEnumerable<object[]>)Cases()).Count());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Document_is_classified_as_the_spec_tests_expect(SchemaValidationCase c)
    {
        var document = c.Document;
        if (c.Sha256 is not null)
        {
            // Backwards-compatibility documents: their digest is an oracle for byte-exact handling.
            Assert.Equal(c.Sha256, Digest.Compute(System.Text.Encoding.UTF8.GetBytes(document)).ToString());
            var root = JsonNode.Parse(File.ReadAllText(Path.Combine(OciSchemaValidator.CorpusDirectory, "validation-cases.json")))!;
            foreach (var (docker, oci) in root["backwardsCompatibility"]!["dockerToOciMediaTypes"]!.AsObject())
                document = document.Replace(docker, oci!.GetValue<string>(), StringComparison.Ordinal);
        }
        var problem = validator.Check(c.MediaType, document);
        if (c.Fail) Assert.True(problem is not null, $"expected rejection, but it validated: {c.Name}");
        else Assert.True(problem is null, $"expected to validate, but: {problem}");
    }

    [Fact]
    public void Docker_hub_documents_parse_with_their_own_docker_media_types_and_keep_their_digest()
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(OciSchemaValidator.CorpusDirectory, "validation-cases.json")))!;
        var parsed = 0;
        foreach (var table in root["backwardsCompatibility"]!["tables"]!.AsArray())
        {
            foreach (var c in table!["cases"]!.AsArray())
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(c!["document"]!.GetValue<string>());
                var expected = c["sha256Digest"]!.GetValue<string>();
                switch (table["mediaType"]!.GetValue<string>())
                {
                    case MediaTypes.OciIndex:
                        var list = ManifestDocument.FromBytes(bytes);
                        Assert.Equal((MediaTypes.DockerManifestList, expected), (list.MediaType, list.Digest.ToString()));
                        Assert.All(list.ParseIndex().Manifests, m => Assert.Equal(MediaTypes.DockerManifest, m.MediaType));
                        break;
                    case MediaTypes.OciManifest:
                        var manifest = ManifestDocument.FromBytes(bytes);
                        Assert.Equal((MediaTypes.DockerManifest, expected), (manifest.MediaType, manifest.Digest.ToString()));
                        Assert.All(manifest.ParseManifest().Layers, l => Assert.Equal(MediaTypes.DockerLayerGzip, l.MediaType));
                        break;
                    default:
                        var config = ImageConfig.Parse(bytes);
                        // Docker-only fields (container_config, docker_version, …) survive a re-serialization.
                        var again = ImageConfig.Parse(config.ToJson());
                        Assert.Equal(config.ExtensionData?.Keys.Order(), again.ExtensionData?.Keys.Order());
                        Assert.Equal(config.RootFs.DiffIds, again.RootFs.DiffIds);
                        break;
                }
                parsed++;
            }
        }
        Assert.Equal(4, parsed);
    }
}
