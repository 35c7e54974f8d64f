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

    [Fact]
    public void An_s3_spec_may_leave_the_endpoint_to_the_environment()
    {
        var o = ContentStoreOptions.Parse("s3://bucket");
        Assert.Equal((ContentStoreKind.S3, "bucket", null), (o.Kind, o.Bucket, o.Endpoint));
    }

    [Theory]
    [InlineData("s3://?endpoint=http://x:1")]
    [InlineData("s3://b?endpoint=http://x:1&colour=blue")]
    [InlineData("ftp://somewhere")]
    public void Invalid_specs_are_rejected_with_the_reason(string spec) =>
        Assert.Throws<FormatException>(() => ContentStoreOptions.Parse(spec));

    [Fact]
    public void Timeouts_and_the_retry_budget_are_settings_of_the_spec()
    {
        var o = ContentStoreOptions.Parse("s3://c?endpoint=http://h:1&timeout=7&request-timeout=2&transfer-timeout=90&transfer-attempts=5");
        Assert.Equal((TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(90), 5),
            (o.OperationTimeout, o.RequestTimeout, o.TransferTimeout, o.MaxTransferAttempts));
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
