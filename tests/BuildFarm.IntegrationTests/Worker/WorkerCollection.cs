namespace BuildFarm.IntegrationTests.Worker;

/// <summary>Worker tests share one worker and run one at a time (runc and mounts are heavy on 2 cores).</summary>
[CollectionDefinition(Name)]
public sealed class WorkerCollection : ICollectionFixture<WorkerFixture>
{
    public const string Name = "Worker";
}
