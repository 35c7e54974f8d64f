using System.CommandLine;

using BuildFarm.Cli.Commands;

namespace BuildFarm.Cli.Remote;

/// <summary>The flags every client verb of a farm takes besides <c>--server</c>: <c>--token</c> and <c>--tlscacert</c>,
/// each falling back to its variable (BUILDFARM_TOKEN, BUILDFARM_TLS_CA), then to the client's config file.</summary>
public sealed class RemoteOptions
{
    public Option<string?> Token { get; } = new("--token")
    {
        Description = "Bearer token for the farm (default BUILDFARM_TOKEN, else \"token\" in $BUILDFARM_HOME/config.json)",
    };

    public Option<string?> TlsCaCert { get; } = new("--tlscacert")
    {
        Description = "PEM file of the CA that signed the farm's TLS certificate (default BUILDFARM_TLS_CA, else \"tlscacert\" in config.json, else the system's)",
    };

    public IEnumerable<Option> All => [Token, TlsCaCert];

    public RemoteEndpointOptions Resolve(ParseResult parse, CliEnvironment environment)
    {
        var config = new Lazy<ClientConfig>(() => ClientConfig.Load(Path.Combine(environment.Home.Root, "config.json")));
        var token = parse.GetValue(Token) ?? environment.Token ?? config.Value.Token;
        var ca = parse.GetValue(TlsCaCert) ?? environment.TlsCa ?? config.Value.TlsCaCert;
        if (ca is not null && !File.Exists(ca)) throw new UsageException($"--tlscacert {ca}: no such file");
        return new RemoteEndpointOptions(token, ca is null ? null : Path.GetFullPath(ca));
    }
}
