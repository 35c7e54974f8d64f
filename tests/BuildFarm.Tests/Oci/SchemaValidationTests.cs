using System.Text.Json.Nodes;
using BuildFarm.Oci;

namespace BuildFarm.Tests.Oci;

public class SchemaValidationTests
{
    private static readonly Lazy<OciSchemaValidator> Validator = new(() => new OciSchemaValidator());

    public sealed record Case(string Name, string MediaType, string Document, bool Fail, string? Sha256 = null)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases()
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(OciSchemaValidator.CorpusDirectory, "validation-cases.json")))!;
        var data = new TheoryData<Case>();
        foreach (var table in root["tables"]!.AsArray())
        {
            var i = 0;
            foreach (var c in table!["cases"]!.AsArray())
                data.Add(new Case($"{table["test"]}#{i++}: {c!["comment"]}", table["mediaType"]!.GetValue<string>(), c["document"]!.GetValue<string>(), c["fail"]!.GetValue<bool>()));
        }
        var compat = root["backwardsCompatibility"]!;
        var mapping = compat["dockerToOciMediaTypes"]!.AsObject();
        foreach (var table in compat["tables"]!.AsArray())
        {
            var i = 0;
            foreach (var c in table!["cases"]!.AsArray())
                data.Add(new Case($"{table["test"]}#{i++}", table["mediaType"]!.GetValue<string>(), c!["document"]!.GetValue<string>(), c["fail"]!.GetValue<bool>(), c["sha256Digest"]!.GetValue<string>()));
        }
        var j = 0;
        foreach (var c in root["specExamples"]!["cases"]!.AsArray())
            data.Add(new Case($"spec {c!["file"]}#{j++}: {c["title"]}", c["mediaType"]!.GetValue<string>(), c["document"]!.GetValue<string>(), c["fail"]!.GetValue<bool>()));
        return data;
    }

    [Fact]
    public void Corpus_holds_all_81_cases()
    {
        Assert.Equal(81, ((IEnumerable<object[]>)Cases()).Count());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Document_is_classified_as_the_spec_tests_expect(Case c)
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
        var problem = Validator.Value.Check(c.MediaType, document);
        if (c.Fail) Assert.True(problem is not null, $"expected rejection, but it validated: {c.Name}");
        else Assert.True(problem is null, $"expected to validate, but: {problem}");
    }
}
