namespace BuildFarm.Coordinator.Planning;

/// <summary>One <c>--add-host HOST:IP</c>.</summary>
public sealed record RunExtraHost(string Host, string Ip);
