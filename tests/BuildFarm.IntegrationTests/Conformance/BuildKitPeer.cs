using System.Diagnostics;

namespace BuildFarm.IntegrationTests.Conformance;

/// <summary>
/// BuildKit as the reference: Debian 13's dockerd (started by scripts/buildkit-peer.sh) driven through its docker and
/// buildx binaries. Builds with <c>--network none</c> and exports with <c>docker save</c>.
/// </summary>
public sealed partial class BuildKitPeer
{
    private readonly Dictionary<string, string> _environment;

    private BuildKitPeer(Dictionary<string, string> environment) => _environment = environment;

    /// <summary>Starts (or reuses) the peer through the repository's script and reads the environment it prints.</summary>
    public static async Task<BuildKitPeer> StartAsync(string repositoryRoot, CancellationToken cancellationToken)
    {
        var (code, stdout, stderr) = await RunAsync(Path.Combine(repositoryRoot, "scripts", "buildkit-peer.sh"), ["start"], null, cancellationToken);
        if (code != 0) throw new InvalidOperationException($"scripts/buildkit-peer.sh start failed: {stderr}");
        var line = stdout.Split('\n').Last(l => l.StartsWith("export ", StringComparison.Ordinal));
        var environment = new Dictionary<string, string>();
        foreach (var pair in line["export ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            environment[pair[..eq]] = pair[(eq + 1)..].Replace("$PATH", Environment.GetEnvironmentVariable("PATH"), StringComparison.Ordinal);
        }
        return new BuildKitPeer(environment);
    }

    /// <summary>dockerd's and buildx's versions, written into every golden.</summary>
    public async Task<string> VersionAsync(CancellationToken cancellationToken)
    {
        var server = await RunAsync("docker", ["version", "--format", "{{.Server.Version}}"], _environment, cancellationToken);
        var buildx = await RunAsync("docker", ["buildx", "version"], _environment, cancellationToken);
        return $"BuildKit in Debian 13 dockerd {server.Stdout.Trim()} with buildx {buildx.Stdout.Trim().Split(' ').ElementAtOrDefault(1)}";
    }

    /// <summary>Builds the context and saves the image to <paramref name="archive"/>; null on success, else BuildKit's error line.</summary>
    public async Task<string?> BuildAsync(string context, IReadOnlyList<string> flags, string tag, string archive, CancellationToken cancellationToken)
    {
        var build = await RunAsync("docker", ["buildx", "build", "--network", "none", "--progress", "plain", "-t", tag, .. flags, context], _environment, cancellationToken);
        if (build.Code != 0) return ErrorLine(build.Stderr);
        var save = await RunAsync("docker", ["save", tag, "-o", archive], _environment, cancellationToken);
        if (save.Code != 0) throw new InvalidOperationException($"docker save {tag} failed: {save.Stderr}");
        await RunAsync("docker", ["rmi", "-f", tag], _environment, cancellationToken);
        return null;
    }

    /// <summary>
    /// <c>docker buildx build --call=NAME[,format=json]</c> as buildx 0.13 spells it (<c>BUILDX_EXPERIMENTAL=1 --print=…</c>):
    /// its stdout, or null and BuildKit's error line.
    /// </summary>
    public async Task<(string? Stdout, string? Error)> CallAsync(string context, IReadOnlyList<string> flags, CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string>(_environment) { ["BUILDX_EXPERIMENTAL"] = "1" };
        string[] translated = [.. flags.Select(f => f.StartsWith("--call=", StringComparison.Ordinal) ? "--print=" + f["--call=".Length..] : f)];
        var call = await RunAsync("docker", ["buildx", "build", "--network", "none", "--progress", "plain", .. translated, context], environment, cancellationToken);
        return call.Code == 0 ? (call.Stdout, null) : (null, ErrorLine(call.Stderr));
    }

    private static string ErrorLine(string stderr)
    {
        var error = stderr.Split('\n').LastOrDefault(l => l.StartsWith("ERROR: ", StringComparison.Ordinal)) ?? stderr.Trim().Split('\n').Last();
        error = error.Replace("ERROR: ", "", StringComparison.Ordinal).Replace("failed to solve: ", "", StringComparison.Ordinal).Trim();
        // BuildKit names its random ref ids in some errors: drop them so a regeneration does not rewrite unchanged goldens
        return RefId().Replace(error, "ref <id>");
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string file, IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        if (environment is not null)
        {
            foreach (var (k, v) in environment) start.Environment[k] = v;
            // the peer's docker binary, not whatever else is on PATH
            if (file == "docker") start.FileName = environment["PATH"].Split(':').Select(d => Path.Combine(d, "docker")).First(File.Exists);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, await stdout, await stderr);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"ref [0-9a-z-]+::[0-9a-z]+")]
    private static partial System.Text.RegularExpressions.Regex RefId();
}
