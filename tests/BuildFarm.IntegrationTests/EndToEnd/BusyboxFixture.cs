using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>One busybox root filesystem (and its tar) for all end-to-end tests.</summary>
public sealed class BusyboxFixture : IDisposable
{
    public BusyboxRootfs Rootfs { get; } = new();

    public void Dispose() => Rootfs.Dispose();
}
