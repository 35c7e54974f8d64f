using System.Text;
using System.Text.Json;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Oci;
using BuildFarm.Oci.Images;
using BuildFarm.Oci.Layers;
using BuildFarm.Oci.Layout;
using BuildFarm.Oci.Registry;

namespace BuildFarm.IntegrationTests.Oci;

/// <summary>Push and pull against a real docker-registry, checked with skopeo and umoci; run with and without auth.</summary>
public abstract class RegistryRoundTripTests(RegistryFixture registry)
{
    protected RegistryFixture Registry { get; } = registry;

    private string[] SkopeoCreds(string flag) => Registry.Credential is { } c ? [flag, $"{c.Username}:{c.Password}"] : [];

    private static async Task<(OciLayout Layout, Descriptor Manifest, string Expected)> TwoLayerImageAsync(TempDirectory dir)
    {
        var lower = dir.CreateSubdirectory("lower");
        var upper = dir.CreateSubdirectory("upper");
        var expected = dir.CreateSubdirectory("expected");
        TestImage.MakeBaseTree(lower);
        TestImage.MakeUpperTree(upper);
        TestImage.MakeExpectedMergedTree(expected);
        var layout = await OciLayout.OpenOrCreateAsync(dir.Combine("layout"));
        var manifest = await TestImage.WriteAsync(layout, "v1", LayerCompression.Gzip, (lower, WhiteoutTranslation.None), (upper, WhiteoutTranslation.Overlay));
        return (layout, manifest, expected);
    }

    private static IEnumerable<string> Files(string root) => TreeSnapshot.Take(root, withOwnership: true).Where(l => !l.Contains("/ "));

    [Fact]
    public async Task Image_pushed_by_our_client_is_copied_back_by_skopeo_and_unpacks_to_the_same_files()
    {
        using var dir = new TempDirectory();
        var (layout, manifest, expected) = await TwoLayerImageAsync(dir);
        using var client = Registry.CreateClient();
        var target = Registry.Reference("ours/app", "v1");
        await ImageCopier.PushAsync(client, layout, manifest, target);
        Assert.Contains("v1", await client.ListTagsAsync(target));

        var raw = await ExternalTool.RunCheckedAsync("skopeo", ["inspect", "--raw", "--tls-verify=false", .. SkopeoCreds("--creds"), $"docker://{target}"]);
        Assert.Equal(manifest.Digest, Digest.Compute(Encoding.UTF8.GetBytes(raw)).ToString());
        await ExternalTool.RunCheckedAsync("skopeo", ["--insecure-policy", "copy", "--src-tls-verify=false", .. SkopeoCreds("--src-creds"), $"docker://{target}", $"oci:{dir.Combine("back")}:v1"]);
        await ExternalTool.RunCheckedAsync("umoci", "unpack", "--image", $"{dir.Combine("back")}:v1", dir.Combine("bundle"));
        Assert.Equal(Files(expected), Files(dir.Combine("bundle", "rootfs")));
    }

    [Fact]
    public async Task Image_pushed_by_skopeo_is_pulled_by_our_client_with_identical_digests()
    {
        using var dir = new TempDirectory();
        var (layout, _, expected) = await TwoLayerImageAsync(dir);
        var target = Registry.Reference("theirs/app", "v1");
        await ExternalTool.RunCheckedAsync("skopeo", ["--insecure-policy", "copy", "--dest-tls-verify=false", .. SkopeoCreds("--dest-creds"), $"oci:{layout.Root}:v1", $"docker://{target}"]);
        var raw = await ExternalTool.RunCheckedAsync("skopeo", ["inspect", "--raw", "--tls-verify=false", .. SkopeoCreds("--creds"), $"docker://{target}"]);
        var theirs = ManifestDocument.FromBytes(Encoding.UTF8.GetBytes(raw)).ParseManifest();

        using var client = Registry.CreateClient();
        var resolved = await client.ResolveAsync(target);
        Assert.Equal(Digest.Compute(Encoding.UTF8.GetBytes(raw)).ToString(), resolved.Digest);
        var pulled = await OciLayout.OpenOrCreateAsync(dir.Combine("pulled"));
        var top = await ImageCopier.PullAsync(client, target, pulled, Platform.LinuxAmd64, "v1");
        Assert.Equal(resolved.Digest, top.Digest);

        var ours = (await pulled.ReadManifestAsync(top)).ParseManifest();
        Assert.Equal(theirs.Config.Digest, ours.Config.Digest);
        Assert.Equal(theirs.Layers.Select(l => l.Digest), ours.Layers.Select(l => l.Digest));
        var rootfs = dir.Combine("rootfs");
        foreach (var layer in ours.Layers)
        {
            await using var blob = pulled.OpenBlob(layer);
            await new LayerApplier().ApplyBlobAsync(blob, layer.MediaType, rootfs);
        }
        Assert.Equal(Files(expected), Files(rootfs));
    }

    [Fact]
    public async Task Second_push_finds_every_blob_already_present()
    {
        using var dir = new TempDirectory();
        var (layout, manifestDescriptor, _) = await TwoLayerImageAsync(dir);
        using var client = Registry.CreateClient();
        var target = Registry.Reference("again/app", "v1");
        await ImageCopier.PushAsync(client, layout, manifestDescriptor, target);
        var manifest = (await layout.ReadManifestAsync(manifestDescriptor)).ParseManifest();
        foreach (var blob in manifest.Layers.Prepend(manifest.Config))
            Assert.Equal(BlobPushResult.AlreadyPresent, await client.PushBlobAsync(target, blob, () => layout.OpenBlob(blob)));
    }

    [Fact]
    public async Task Large_blob_goes_up_in_chunks_and_comes_back_verified()
    {
        var content = new byte[300_000];
        new Random(3).NextBytes(content);
        using var client = Registry.CreateClient(new RegistryClientOptions { MonolithicUploadLimit = 1024, ChunkSize = 64 * 1024 });
        var target = Registry.Reference("chunked/blob");
        var descriptor = Descriptor.For(MediaTypes.OciLayer, content);
        Assert.Equal(BlobPushResult.Uploaded, await client.PushBlobAsync(target, descriptor, () => new MemoryStream(content)));
        Assert.Equal(content, await client.GetBlobAsync(target, descriptor));
    }

    [Fact]
    public async Task Blob_is_mounted_from_another_repository_instead_of_uploaded()
    {
        var content = Encoding.UTF8.GetBytes("shared base layer " + Guid.NewGuid());
        using var client = Registry.CreateClient();
        var descriptor = Descriptor.For(MediaTypes.OciLayer, content);
        Assert.Equal(BlobPushResult.Uploaded, await client.PushBlobAsync(Registry.Reference("mount/source"), descriptor, () => new MemoryStream(content)));
        var result = await client.PushBlobAsync(Registry.Reference("mount/target"), descriptor, () => throw new InvalidOperationException("a mount must not read the content"), mountFrom: "mount/source");
        Assert.Equal(BlobPushResult.Mounted, result);
        Assert.True(await client.BlobExistsAsync(Registry.Reference("mount/target"), descriptor.ParsedDigest));
    }

    [Fact]
    public async Task Index_is_resolved_to_the_manifest_of_the_requested_platform()
    {
        using var dir = new TempDirectory();
        var layout = await OciLayout.OpenOrCreateAsync(dir.Combine("layout"));
        var entries = new List<Descriptor>();
        foreach (var arch in new[] { "amd64", "arm64" })
        {
            var src = dir.CreateSubdirectory("src-" + arch);
            File.WriteAllText(Path.Combine(src, "arch"), arch);
            var layer = await layout.AddLayerAsync(src, LayerCompression.Gzip);
            var m = await layout.AddImageAsync(TestImage.Config with { Architecture = arch }, [layer], arch);
            entries.Add(m with { Annotations = null, Platform = new Platform { Os = "linux", Architecture = arch } });
        }
        var index = await layout.AddManifestAsync(ManifestDocument.From(new ImageIndex { Manifests = entries }), "multi");
        using var client = Registry.CreateClient();
        var target = Registry.Reference("multi/app", "1");
        await ImageCopier.PushAsync(client, layout, index, target);

        var (manifest, fetchedIndex) = await client.GetImageManifestAsync(target, Platform.Parse("linux/arm64"));
        Assert.Equal(index.Digest, fetchedIndex!.Digest.ToString());
        Assert.Equal(entries[1].Digest, manifest.Digest.ToString());
        var config = ImageConfig.Parse(await client.GetBlobAsync(target, manifest.ParseManifest().Config));
        Assert.Equal("arm64", config.Architecture);

        // Without a platform the whole index comes over, every manifest and blob under its own digest.
        var pulled = await OciLayout.OpenOrCreateAsync(dir.Combine("pulled"));
        var top = await ImageCopier.PullAsync(client, target, pulled, platform: null, refName: "all");
        Assert.Equal(index.Digest, top.Digest);
        foreach (var entry in entries)
        {
            var child = (await pulled.ReadManifestAsync(entry)).ParseManifest();
            Assert.All(child.Layers.Prepend(child.Config), b => Assert.True(pulled.HasBlob(b.ParsedDigest), $"{b.Digest} missing"));
        }
    }

    [Fact]
    public async Task Missing_manifest_is_a_not_found_error_naming_the_repository()
    {
        using var client = Registry.CreateClient();
        var e = await Assert.ThrowsAsync<RegistryNotFoundException>(() => client.GetManifestAsync(Registry.Reference("nothing/here", "nope")));
        Assert.Contains("nothing/here", e.Message);
        Assert.Contains("404", e.Message);
    }

    [Fact]
    public async Task Blob_corrupted_in_registry_storage_is_refused_on_download()
    {
        var content = Encoding.UTF8.GetBytes("pristine content " + Guid.NewGuid());
        using var client = Registry.CreateClient();
        var target = Registry.Reference("corrupt/blob");
        var descriptor = Descriptor.For(MediaTypes.OciLayer, content);
        await client.PushBlobAsync(target, descriptor, () => new MemoryStream(content));
        var hex = descriptor.ParsedDigest.Hex;
        var data = Path.Combine(Registry.StorageDirectory, "docker/registry/v2/blobs/sha256", hex[..2], hex, "data");
        var tampered = (byte[])content.Clone();
        tampered[0] ^= 0xff;
        await File.WriteAllBytesAsync(data, tampered);

        var e = await Assert.ThrowsAsync<BlobDigestMismatchException>(() => client.GetBlobAsync(target, descriptor));
        Assert.Equal(descriptor.ParsedDigest, e.Expected);
    }
}

public sealed class AnonymousRegistryTests(RegistryFixture registry) : RegistryRoundTripTests(registry), IClassFixture<RegistryFixture>;

public sealed class BasicAuthRegistryTests(RegistryBasicAuthFixture registry) : RegistryRoundTripTests(registry), IClassFixture<RegistryBasicAuthFixture>
{
    [Fact]
    public async Task Anonymous_client_is_told_that_no_credentials_are_configured()
    {
        using var client = new RegistryClient();
        var e = await Assert.ThrowsAsync<RegistryAuthenticationException>(() => client.GetManifestAsync(Registry.Reference("any/repo")));
        Assert.Contains("none are configured", e.Message);
        Assert.Contains(Registry.Host, e.Message);
    }

    [Fact]
    public async Task Wrong_password_is_an_authentication_error_naming_the_user()
    {
        var credentials = new StaticCredentialProvider(new Dictionary<string, RegistryCredential> { [Registry.Host] = new(Registry.Username!, "wrong") });
        using var client = new RegistryClient(new RegistryClientOptions { Credentials = credentials });
        var e = await Assert.ThrowsAsync<RegistryAuthenticationException>(() => client.GetManifestAsync(Registry.Reference("any/repo")));
        Assert.Contains($"'{Registry.Username}'", e.Message);
        Assert.DoesNotContain("wrong", e.Message);
    }

    [Fact]
    public async Task Credentials_are_read_from_a_docker_config_json()
    {
        using var dir = new TempDirectory();
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Registry.Username}:{Registry.Password}"));
        var path = dir.Combine("config.json");
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(new { auths = new Dictionary<string, object> { [$"http://{Registry.Host}"] = new { auth } } }));
        using var client = new RegistryClient(new RegistryClientOptions { Credentials = DockerConfigCredentialProvider.FromFile(path) });
        var target = Registry.Reference("from/config");
        Assert.Equal(BlobPushResult.Uploaded, await client.PushBlobAsync(target, "{}"u8.ToArray(), MediaTypes.OciEmpty));
        Assert.True(await client.BlobExistsAsync(target, Digest.Compute("{}"u8)));
    }
}

public sealed class BearerTokenRegistryTests(RegistryTokenAuthFixture registry) : RegistryRoundTripTests(registry), IClassFixture<RegistryTokenAuthFixture>
{
    private readonly RegistryTokenAuthFixture _registry = registry;

    [Fact]
    public async Task Anonymous_token_allows_pulling_but_pushing_needs_credentials()
    {
        var target = Registry.Reference("public/app");
        using (var owner = Registry.CreateClient())
            await owner.PushBlobAsync(target, "{\"public\":true}"u8.ToArray(), MediaTypes.OciConfig);
        using var anonymous = new RegistryClient();
        var descriptor = Descriptor.For(MediaTypes.OciConfig, "{\"public\":true}"u8);
        Assert.Equal("{\"public\":true}"u8.ToArray(), await anonymous.GetBlobAsync(target, descriptor));
        var e = await Assert.ThrowsAsync<RegistryAuthenticationException>(() => anonymous.PushBlobAsync(target, "new"u8.ToArray(), MediaTypes.OciLayer));
        Assert.Contains("none are configured", e.Message);
    }

    [Fact]
    public async Task Mount_asks_the_token_server_for_pull_on_the_source_repository()
    {
        var content = Encoding.UTF8.GetBytes("mounted via token " + Guid.NewGuid());
        var descriptor = Descriptor.For(MediaTypes.OciLayer, content);
        using var client = Registry.CreateClient();
        await client.PushBlobAsync(Registry.Reference("tok/source"), descriptor, () => new MemoryStream(content));
        Assert.Equal(BlobPushResult.Mounted, await client.PushBlobAsync(Registry.Reference("tok/target"), descriptor, () => new MemoryStream(content), mountFrom: "tok/source"));
        Assert.Contains("repository:tok/source:pull", _registry.TokenServer.RequestedScopes);
        Assert.Contains("repository:tok/target:pull,push", _registry.TokenServer.RequestedScopes);
    }

    [Fact]
    public async Task Wrong_password_is_rejected_by_the_token_service_naming_the_user()
    {
        var credentials = new StaticCredentialProvider(new Dictionary<string, RegistryCredential> { [Registry.Host] = new(Registry.Username!, "wrong") });
        using var client = new RegistryClient(new RegistryClientOptions { Credentials = credentials });
        var e = await Assert.ThrowsAsync<RegistryAuthenticationException>(() => client.GetManifestAsync(Registry.Reference("any/repo")));
        Assert.Contains($"'{Registry.Username}'", e.Message);
    }
}
