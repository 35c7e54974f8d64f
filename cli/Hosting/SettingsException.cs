namespace BuildFarm.Cli.Hosting;

/// <summary>A host setting that cannot be used; the message is one line naming the value and where it came from.</summary>
public sealed class SettingsException(string message) : Exception(message);
