namespace BuildFarm.Worker.Execution;

/// <summary>An OCI runtime mount: <c>type</c> is bind, tmpfs, proc, ... as in config.json.</summary>
public sealed record ContainerMount(string Destination, string Type, string Source, IReadOnlyList<string> Options);
