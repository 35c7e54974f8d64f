namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>End-to-end tests run one at a time: each starts runc containers, and the machine has 2 cores.</summary>
[CollectionDefinition(Name)]
public sealed class EndToEndCollection : ICollectionFixture<BusyboxFixture>
{
    public const string Name = "EndToEnd";
}
