namespace BuildFarm.Cli.Hosting;

/// <summary>How a host writes its console log (<c>--log-format</c>).</summary>
public enum HostLogFormat
{
    Text,
    Json,
}
