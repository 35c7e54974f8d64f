using System.Collections;
using BuildFarm.Cache;

namespace BuildFarm.Tests.Cache;

public class ContentStoreOptionsTests
{
    [Fact]
    public void S3_spec_gives_endpoint_bucket_region_namespace_and_timeout()
    {
        var o = ContentStoreOptions.Parse("s3://layers?endpoint=http://127.0.0.1:9000&region=eu-west-1&namespace=team-a&timeout=5");
        Assert.Equal(ContentStoreKind.S3, o.Kind);
        Assert.Equal("layers", o.Bucket);
        Assert.Equal("http://127.0.0.1:9000", o.Endpoint);
        Assert.Equal("eu-west-1", o.Region);
        Assert.Equal("team-a", o.Namespace);
        Assert.Equal(TimeSpan.FromSeconds(5), o.OperationTimeout);
    }

    [Theory]
    [InlineData("s3://bucket")]
    [InlineData("s3://?endpoint=http://x:1")]
    [InlineData("s3://b?endpoint=http://x:1&colour=blue")]
    [InlineData("ftp://somewhere")]
    public void Invalid_specs_are_rejected_with_the_reason(string spec) =>
        Assert.Throws<FormatException>(() => ContentStoreOptions.Parse(spec));

    [Fact]
    public void Local_default_root_is_buildfarm_home_cache()
    {
        var env = new Hashtable { ["BUILDFARM_HOME"] = "/srv/bf" };
        Assert.Equal("/srv/bf/cache", ContentStoreOptions.FromEnvironment(env).ResolveLocalRoot(env));
        Assert.EndsWith("/.buildfarm/cache", ContentStoreOptions.DefaultLocalRoot(new Hashtable()));
    }

    [Fact]
    public void Credentials_come_from_the_aws_environment_unless_given()
    {
        var env = new Hashtable { ["BUILDFARM_CACHE"] = "s3://c?endpoint=http://h:1", ["AWS_ACCESS_KEY_ID"] = "ak", ["AWS_SECRET_ACCESS_KEY"] = "sk", ["BUILDFARM_CACHE_NAMESPACE"] = "ns1" };
        var o = ContentStoreOptions.FromEnvironment(env);
        Assert.Equal(("ak", "sk", "ns1"), (o.AccessKey, o.SecretKey, o.Namespace));
        var given = new ContentStoreOptions { AccessKey = "mine", SecretKey = "own" }.WithEnvironmentCredentials(env);
        Assert.Equal(("mine", "own"), (given.AccessKey, given.SecretKey));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("Upper")]
    [InlineData("a/b")]
    public void Namespace_names_that_could_escape_or_clash_are_rejected(string ns) =>
        Assert.Throws<ArgumentException>(() => StoreLayout.Prefix(ns));

    [Fact]
    public void S3_store_without_credentials_names_the_endpoint_in_its_error()
    {
        var options = new ContentStoreOptions { Kind = ContentStoreKind.S3, Endpoint = "http://127.0.0.1:1", AccessKey = "", SecretKey = "" };
        var e = Assert.Throws<ArgumentException>(() => new S3Connection(options));
        Assert.Contains("127.0.0.1:1", e.Message);
    }
}
