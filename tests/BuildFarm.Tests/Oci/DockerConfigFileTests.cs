using System.Text.Json.Nodes;
using BuildFarm.Oci.Registry;

namespace BuildFarm.Tests.Oci;

public sealed class DockerConfigFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bf-dockercfg-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Store_writes_a_login_the_credential_provider_reads_back()
    {
        await new DockerConfigFile(_dir).StoreAsync("127.0.0.1:5000", "farmer", "p:ss", CancellationToken.None);
        var found = DockerConfigCredentialProvider.FromDirectory(_dir).Find("127.0.0.1:5000");
        Assert.Equal(("farmer", "p:ss"), (found?.Username, found?.Password));
    }

    [Fact, System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Store_keeps_other_keys_and_makes_the_file_owner_only()
    {
        var path = Path.Combine(_dir, "config.json");
        await File.WriteAllTextAsync(path, """{"auths":{"other:1":{"auth":"dTpw"}},"experimental":"enabled"}""");
        await new DockerConfigFile(_dir).StoreAsync("docker.io", "u", "p", CancellationToken.None);
        var json = JsonNode.Parse(await File.ReadAllTextAsync(path))!;
        Assert.Equal("enabled", json["experimental"]!.GetValue<string>());
        Assert.NotNull(json["auths"]!["other:1"]);
        Assert.NotNull(json["auths"]!["https://index.docker.io/v1/"]); // Docker Hub's historical key, as docker writes it
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public async Task Erase_removes_only_that_login_and_says_when_there_was_none()
    {
        var file = new DockerConfigFile(_dir);
        await file.StoreAsync("a:1", "u", "p", CancellationToken.None);
        await file.StoreAsync("b:2", "u", "p", CancellationToken.None);
        Assert.True(await file.EraseAsync("a:1", CancellationToken.None));
        Assert.False(await file.EraseAsync("a:1", CancellationToken.None));
        var provider = DockerConfigCredentialProvider.FromDirectory(_dir);
        Assert.Null(provider.Find("a:1"));
        Assert.NotNull(provider.Find("b:2"));
    }

    [Fact]
    public async Task A_damaged_config_is_an_error_naming_the_file()
    {
        await File.WriteAllTextAsync(Path.Combine(_dir, "config.json"), "{\"auths\": ");
        var error = await Assert.ThrowsAsync<FormatException>(() => new DockerConfigFile(_dir).StoreAsync("a:1", "u", "p", CancellationToken.None));
        Assert.Contains(Path.Combine(_dir, "config.json"), error.Message);
    }
}
