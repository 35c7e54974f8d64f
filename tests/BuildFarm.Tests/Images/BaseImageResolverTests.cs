using System.Net;
using System.Net.Sockets;
using BuildFarm.Cache;
using BuildFarm.Coordinator.Images;
using BuildFarm.Oci;
using BuildFarm.Oci.Registry;

namespace BuildFarm.Tests.Images;

public sealed class BaseImageResolverTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bf-base-resolver-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_failed_resolve_is_not_remembered_for_the_next_build()
    {
        // a loopback port nobody listens on: every pull fails at once
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        using var client = new RegistryClient(new RegistryClientOptions { MaxRetries = 1, RetryBaseDelay = TimeSpan.FromMilliseconds(1) });
        var resolver = new BaseImageResolver(new LocalContentStore(Path.Combine(_dir, "store")), () => client, _dir);
        var reference = $"127.0.0.1:{port}/nobody/base:1";

        var first = resolver.ResolveAsync(reference, Platform.LinuxAmd64, pull: false, CancellationToken.None);
        await Assert.ThrowsAnyAsync<Exception>(() => first);
        var second = resolver.WithClient(client).ResolveAsync(reference, Platform.LinuxAmd64, pull: false, CancellationToken.None);
        await Assert.ThrowsAnyAsync<Exception>(() => second);

        Assert.NotSame(first, second);
    }
}
