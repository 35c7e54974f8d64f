using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using BuildFarm.Oci.Registry;

namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>
/// A real CNCF distribution registry (<c>/usr/bin/docker-registry</c>) on 127.0.0.1 at a free port, with its own
/// temp storage, optionally behind htpasswd basic auth. Use as an xunit class/collection fixture, or call
/// <see cref="StartAsync"/> directly; disposing stops the process and deletes the storage.
/// </summary>
public class RegistryFixture : IAsyncLifetime, IAsyncDisposable
{
    private const string RegistryBinary = "/usr/bin/docker-registry";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private Process? _process;
    private readonly StringBuilder _log = new();

    public RegistryFixture() : this(null, null) { }

    protected RegistryFixture(string? username, string? password)
    {
        if ((username is null) != (password is null))
            throw new ArgumentException("give both a user name and a password for basic auth, or neither");
        Username = username;
        Password = password;
        WorkDirectory = Directory.CreateTempSubdirectory("bf-registry-").FullName;
    }

    public string? Username { get; }
    public string? Password { get; }
    public bool RequiresAuth => Username is not null;

    /// <summary>Holds config.yml, htpasswd and the storage root.</summary>
    public string WorkDirectory { get; }

    public string StorageDirectory => Path.Combine(WorkDirectory, "storage");
    public int Port { get; private set; }

    /// <summary>host:port as used in image references ("127.0.0.1:41234").</summary>
    public string Host => $"127.0.0.1:{Port}";

    public RegistryCredential? Credential => Username is null ? null : new RegistryCredential(Username, Password!);

    /// <summary>What the registry process printed so far (for failure messages).</summary>
    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    public ImageReference Reference(string repository, string tag = "latest") => ImageReference.Parse($"{Host}/{repository}:{tag}");

    /// <summary>A client for this registry, logged in when it requires auth.</summary>
    public RegistryClient CreateClient(RegistryClientOptions? options = null)
    {
        options ??= new RegistryClientOptions();
        if (Credential is { } c && options.Credentials is null)
            options = options with { Credentials = new StaticCredentialProvider(new Dictionary<string, RegistryCredential> { [Host] = c }) };
        return new RegistryClient(options);
    }

    public static async Task<RegistryFixture> StartAsync(string? username = null, string? password = null, CancellationToken cancellationToken = default)
    {
        var fixture = new RegistryFixture(username, password);
        try
        {
            await fixture.StartProcessAsync(cancellationToken);
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    public Task InitializeAsync() => StartProcessAsync(CancellationToken.None);

    async Task IAsyncLifetime.DisposeAsync() => await DisposeAsync();

    public virtual async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        if (_process is { } process)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                }
            }
            catch (InvalidOperationException) { /* already gone */ }
            process.Dispose();
            _process = null;
        }
        try { Directory.Delete(WorkDirectory, recursive: true); }
        catch (IOException) { /* best effort */ }
    }

    private async Task StartProcessAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(RegistryBinary))
            throw new InvalidOperationException($"{RegistryBinary} is missing: install Debian's docker-registry package");
        Directory.CreateDirectory(StorageDirectory);

        // A port picked free can be taken by someone else before the registry binds it; try a few.
        Exception? last = null;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            Port = FreeTcpPort.Next();
            var config = Path.Combine(WorkDirectory, "config.yml");
            await File.WriteAllTextAsync(config, ConfigYaml() + await AuthYamlAsync(cancellationToken), cancellationToken);
            try
            {
                await LaunchAsync(config, cancellationToken);
                return;
            }
            catch (RegistryStartException e)
            {
                last = e;
                if (!e.PortInUse) throw;
            }
        }
        throw new InvalidOperationException("docker-registry could not bind a free port after 5 attempts", last);
    }

    /// <summary>The <c>auth:</c> section of the config: htpasswd basic auth when a user is set; override for other schemes.</summary>
    protected virtual async Task<string> AuthYamlAsync(CancellationToken cancellationToken)
    {
        if (!RequiresAuth) return "";
        var htpasswd = Path.Combine(WorkDirectory, "htpasswd");
        await File.WriteAllTextAsync(htpasswd, await RegistryHtpasswd.CreateEntryAsync(Username!, Password!, cancellationToken), cancellationToken);
        return $"auth:\n  htpasswd:\n    realm: buildfarm-test\n    path: {htpasswd}\n";
    }

    private string ConfigYaml()
    {
        var yaml = new StringBuilder();
        yaml.AppendLine("version: 0.1");
        yaml.AppendLine("log:");
        yaml.AppendLine("  level: info");
        yaml.AppendLine("  accesslog:");
        yaml.AppendLine("    disabled: true");
        yaml.AppendLine("storage:");
        yaml.AppendLine("  filesystem:");
        yaml.AppendLine($"    rootdirectory: {StorageDirectory}");
        yaml.AppendLine("  delete:");
        yaml.AppendLine("    enabled: true");
        yaml.AppendLine("  maintenance:");
        yaml.AppendLine("    uploadpurging:");
        yaml.AppendLine("      enabled: false");
        yaml.AppendLine("http:");
        yaml.AppendLine($"  addr: 127.0.0.1:{Port}");
        yaml.AppendLine($"  secret: {Convert.ToHexString(RandomNumberGenerator.GetBytes(16))}");
        return yaml.ToString();
    }

    private async Task LaunchAsync(string config, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(RegistryBinary, ["serve", config])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // REGISTRY_* variables override the config file; never inherit them.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("REGISTRY_", StringComparison.Ordinal)).ToList())
            psi.Environment.Remove(key);
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + StartTimeout;
        while (DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                await process.WaitForExitAsync(cancellationToken);
                var log = Log;
                _process = null;
                process.Dispose();
                throw new RegistryStartException($"docker-registry exited with {process.ExitCode} while starting on {Host}:\n{log}",
                    log.Contains("address already in use", StringComparison.OrdinalIgnoreCase));
            }
            try
            {
                using var response = await http.GetAsync($"http://{Host}/v2/", cancellationToken);
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested) { }
            await Task.Delay(100, cancellationToken);
        }
        throw new RegistryStartException($"docker-registry did not answer on {Host} within {StartTimeout.TotalSeconds}s:\n{Log}", false);
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
    }

}
