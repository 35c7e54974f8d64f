using System.Net;
using BuildFarm.IntegrationTests.Infrastructure;
using BuildFarm.Oci;
using BuildFarm.Oci.Registry;

namespace BuildFarm.IntegrationTests.Oci;

/// <summary>Retries and error reporting against a real registry behind a proxy that spoils chosen connections.</summary>
public sealed class RegistryRetryTests(RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    private static RegistryClient Client(int maxRetries) =>
        new(new RegistryClientOptions { MaxRetries = maxRetries, RetryBaseDelay = TimeSpan.FromMilliseconds(20) });

    [Fact]
    public async Task Resets_and_server_errors_are_retried_until_the_push_and_pull_succeed()
    {
        await using var proxy = new RegistryFaultProxy(registry.Port);
        using var client = Client(maxRetries: 4);
        var target = ImageReference.Parse($"{proxy.Host}/retry/app");
        var content = "retried content"u8.ToArray();
        proxy.Enqueue(RegistryFault.ConnectionReset, RegistryFault.ServiceUnavailable, RegistryFault.ConnectionReset);
        await client.PushBlobAsync(target, content, MediaTypes.OciLayer);
        Assert.Equal(0, proxy.FaultsRemaining);
        Assert.Equal(content, await client.GetBlobAsync(target, Descriptor.For(MediaTypes.OciLayer, content)));
    }

    [Fact]
    public async Task Persistent_server_errors_surface_with_the_status_after_the_retries()
    {
        await using var proxy = new RegistryFaultProxy(registry.Port);
        using var client = Client(maxRetries: 2);
        proxy.Enqueue(RegistryFault.ServiceUnavailable, RegistryFault.ServiceUnavailable, RegistryFault.ServiceUnavailable);
        var e = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync(ImageReference.Parse($"{proxy.Host}/down/app:1")));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, e.StatusCode);
        Assert.Contains("503", e.Message);
        Assert.Contains("down/app", e.Message);
    }

    [Fact]
    public async Task Rate_limiting_is_reported_as_429_with_the_registry_message()
    {
        await using var proxy = new RegistryFaultProxy(registry.Port);
        using var client = Client(maxRetries: 1);
        proxy.Enqueue(RegistryFault.TooManyRequests, RegistryFault.TooManyRequests);
        var e = await Assert.ThrowsAsync<RegistryRateLimitedException>(() => client.GetManifestAsync(ImageReference.Parse($"{proxy.Host}/busy/app:1")));
        Assert.Contains("429", e.Message);
        Assert.Contains("slow down", e.Message);
        Assert.Equal("TOOMANYREQUESTS", e.ErrorCode);
    }

    [Fact]
    public async Task Unreachable_registry_names_the_address_it_tried()
    {
        await using var proxy = new RegistryFaultProxy(registry.Port);
        using var client = Client(maxRetries: 1);
        proxy.Enqueue(RegistryFault.ConnectionReset, RegistryFault.ConnectionReset);
        var e = await Assert.ThrowsAsync<RegistryException>(() => client.ResolveAsync(ImageReference.Parse($"{proxy.Host}/gone/app:1")));
        Assert.Contains(proxy.Host, e.Message);
        Assert.Contains("2 attempts", e.Message);
    }

    [Fact]
    public async Task Access_denied_is_reported_as_403_without_retrying()
    {
        await using var proxy = new RegistryFaultProxy(registry.Port);
        using var client = Client(maxRetries: 3);
        proxy.Enqueue(RegistryFault.Forbidden, RegistryFault.Forbidden);
        var e = await Assert.ThrowsAsync<RegistryAccessDeniedException>(() => client.GetManifestAsync(ImageReference.Parse($"{proxy.Host}/private/app:1")));
        Assert.Contains("403", e.Message);
        Assert.Contains("private/app", e.Message);
        Assert.Equal("DENIED", e.ErrorCode);
        Assert.Equal(1, proxy.FaultsRemaining); // a 403 is an answer, not a hiccup
    }
}
