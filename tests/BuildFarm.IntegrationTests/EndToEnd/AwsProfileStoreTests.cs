using BuildFarm.Cache;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>The S3 cache configured the AWS way only: a profile in ~/.aws and AWS_ENDPOINT_URL, against a real S3 server.</summary>
[Collection(S3ServerCollection.Name)]
public sealed class AwsProfileStoreTests : IDisposable
{
    private readonly S3ServerFixture _s3;
    private readonly BusyboxRootfs _busybox = new();
    private readonly ExampleContext _scratch;

    public AwsProfileStoreTests(S3ServerFixture s3)
    {
        _s3 = s3;
        _scratch = new ExampleContext(_busybox);
    }

    public void Dispose()
    {
        _scratch.Dispose();
        _busybox.Dispose();
    }

    [Fact]
    public async Task A_build_uses_an_s3_store_configured_only_by_aws_profile_and_aws_endpoint_url()
    {
        // A home of its own: ~/.aws/credentials holds the only keys, under a profile that is not the default.
        var home = Path.Combine(_scratch.Root, "user-home");
        Directory.CreateDirectory(Path.Combine(home, ".aws"));
        await File.WriteAllTextAsync(Path.Combine(home, ".aws", "credentials"),
            $"[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[farm]\naws_access_key_id = {S3ServerFixture.AccessKey}\naws_secret_access_key = {S3ServerFixture.SecretKey}\n");
        await File.WriteAllTextAsync(Path.Combine(home, ".aws", "config"), "[profile farm]\nregion = us-east-1\n");
        var ns = $"aws{Guid.NewGuid():N}";
        var env = _scratch.Cli.Environment;
        env["HOME"] = home;
        env["AWS_PROFILE"] = "farm";
        env["AWS_ENDPOINT_URL"] = _s3.Endpoint;
        env["BUILDFARM_CACHE"] = "s3://buildfarm-test";
        env["BUILDFARM_CACHE_NAMESPACE"] = ns;
        var context = _scratch.Context("ctx", "FROM scratch\nADD rootfs.tar /\nRUN echo through-the-profile > /proof\n");

        var build = await _scratch.Cli.BuildAsync(context);
        Assert.True(build.ExitCode == 0, build.ToString());

        // The layers are in the S3 bucket under that namespace, not in a local folder.
        using var cache = ContentStoreFactory.Open(_s3.Options(ns));
        var blobs = new List<BlobInfo>();
        await foreach (var blob in cache.Blobs.ListAsync()) blobs.Add(blob);
        Assert.True(blobs.Count >= 2, $"{blobs.Count} blobs in the S3 namespace");
        Assert.False(Directory.Exists(Path.Combine(_scratch.Home, "cache", "blobs")), "the build wrote a local cache");

        var again = await _scratch.Cli.BuildAsync(context);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal(2, new PlainProgress(again.Stderr).Cached.Count);
    }

    [Fact]
    public async Task The_default_profile_with_wrong_keys_is_refused_by_the_server_with_a_clear_error()
    {
        var home = Path.Combine(_scratch.Root, "user-home");
        Directory.CreateDirectory(Path.Combine(home, ".aws"));
        await File.WriteAllTextAsync(Path.Combine(home, ".aws", "credentials"), "[default]\naws_access_key_id = wrongkey\naws_secret_access_key = wrongsecret\n");
        var env = _scratch.Cli.Environment;
        env["HOME"] = home;
        env["AWS_ENDPOINT_URL_S3"] = _s3.Endpoint;
        env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"; // the S3-specific one wins
        env["BUILDFARM_CACHE"] = "s3://buildfarm-test";

        var build = await _scratch.Cli.BuildAsync(_scratch.Context("ctx", "FROM scratch\nADD rootfs.tar /\n"));
        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains(_s3.Endpoint.Replace("http://", ""), build.Stderr);
    }
}
