using BuildFarm.IntegrationTests.EndToEnd;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.Cluster;

/// <summary>The multi-process cluster tests: one real S3 server and one busybox rootfs for all, one test at a time
/// (each starts several hosts and runc containers; the machine has 2 cores).</summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<S3ServerFixture>, ICollectionFixture<BusyboxFixture>
{
    public const string Name = "Cluster processes";
}
