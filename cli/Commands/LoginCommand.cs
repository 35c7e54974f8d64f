using System.CommandLine;
using BuildFarm.Oci.Registry;

namespace BuildFarm.Cli.Commands;

/// <summary>
/// <c>buildfarm login [-u USER] [-p PASS | --password-stdin] [REGISTRY]</c>: checks the credentials against the registry,
/// then stores them in $DOCKER_CONFIG/config.json (else ~/.docker), the file docker and skopeo read too.
/// </summary>
public static class LoginCommand
{
    public static Command Create(CliEnvironment environment)
    {
        var server = new Argument<string?>("SERVER") { Description = "Registry host[:port] (default docker.io)", Arity = ArgumentArity.ZeroOrOne };
        var username = new Option<string?>("--username", "-u") { Description = "Username" };
        var password = new Option<string?>("--password", "-p") { Description = "Password (visible to other users of this machine: prefer --password-stdin)" };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Take the password from stdin" };
        var command = new Command("login", "Log in to a registry") { server, username, password, passwordStdin };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var registry = Registry(parse.GetValue(server));
            var user = parse.GetValue(username);
            var secret = parse.GetValue(password);
            if (parse.GetValue(passwordStdin))
            {
                if (secret is not null) throw new UsageException("--password and --password-stdin are mutually exclusive");
                secret = (await Console.In.ReadToEndAsync(cancellationToken)).TrimEnd('\n', '\r');
            }
            if (string.IsNullOrEmpty(user)) throw new UsageException("login needs a username (-u USER)");
            if (string.IsNullOrEmpty(secret)) throw new UsageException("login needs a password (-p PASSWORD, or --password-stdin)");

            var credentials = new StaticCredentialProvider(new Dictionary<string, RegistryCredential> { [registry] = new(user, secret) });
            using (var client = new RegistryClient(new RegistryClientOptions { Credentials = credentials, MaxRetries = 1 }))
                await client.CheckLoginAsync(registry, cancellationToken);
            await new DockerConfigFile(environment.DockerConfigDirectory).StoreAsync(registry, user, secret, cancellationToken);
            Console.WriteLine("Login Succeeded");
            return 0;
        });
        return command;
    }

    /// <summary>The registry a user named: a host[:port], also accepted with a scheme or a trailing path (as docker does).</summary>
    public static string Registry(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return ImageReference.DockerHub;
        var host = text.Trim();
        var scheme = host.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0) host = host[(scheme + 3)..];
        var slash = host.IndexOf('/');
        if (slash >= 0) host = host[..slash];
        if (host.Length == 0 || host.Any(char.IsWhiteSpace))
            throw new UsageException($"'{text}' is not a registry host[:port]");
        return host.ToLowerInvariant() is "index.docker.io" or "registry-1.docker.io" ? ImageReference.DockerHub : host.ToLowerInvariant();
    }
}
