using System.Net;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.Oci;

public class RegistryFixtureTests
{
    [Fact]
    public async Task Registry_started_directly_answers_and_disposal_stops_it_and_removes_its_storage()
    {
        var registry = await RegistryFixture.StartAsync();
        var workDirectory = registry.WorkDirectory;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://{registry.Host}/v2/")).StatusCode);

        await registry.DisposeAsync();
        Assert.False(Directory.Exists(workDirectory));
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync($"http://{registry.Host}/v2/"));
    }

    [Fact]
    public async Task Registry_with_basic_auth_challenges_anonymous_requests()
    {
        await using var registry = await RegistryFixture.StartAsync("user", "pass");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var response = await http.GetAsync($"http://{registry.Host}/v2/");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Basic", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task Two_registries_run_side_by_side_on_different_ports()
    {
        await using var a = await RegistryFixture.StartAsync();
        await using var b = await RegistryFixture.StartAsync();
        Assert.NotEqual(a.Port, b.Port);
        Assert.NotEqual(a.StorageDirectory, b.StorageDirectory);
    }
}
