namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>Tests that share one radosgw; xunit runs a collection's tests one at a time, which the outage test needs.</summary>
[CollectionDefinition(Name)]
public sealed class S3ServerCollection : ICollectionFixture<S3ServerFixture>
{
    public const string Name = "S3 server";
}
