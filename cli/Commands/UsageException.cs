namespace BuildFarm.Cli.Commands;

/// <summary>A command line that cannot be carried out as given; printed as "ERROR: message", exit code 1.</summary>
public sealed class UsageException(string message) : Exception(message);
