namespace BuildFarm.Worker.Steps;

/// <summary>RUN --network: none (the default for a build farm: a fresh namespace with only loopback) or host.</summary>
public enum NetworkMode
{
    None,
    Host,
}
