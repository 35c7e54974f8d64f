using System.Diagnostics;

namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>
/// A private dockerd (Debian's docker.io: on PATH, or unpacked by bench/run.sh or shared/reference/debian13-dockerd.sh
/// under /var/tmp) with its own data root, exec root and socket in a temp folder, no iptables and no bridge. Used to
/// compare what buildfarm writes and shows with what docker does. Disposing stops it (SIGTERM, by its process id).
/// </summary>
public sealed class DockerDaemonFixture : IAsyncLifetime
{
    private static readonly string[] Roots = ["/", "/var/tmp/buildfarm-buildkit-peer/root", "/var/tmp/debian13-docker/root"];
    private Process? _daemon;

    /// <summary>Only Debian 13's dockerd and buildx (the BuildKit peer's tree), with containerd's image store, so that
    /// <c>docker buildx build --cache-to type=local</c> works with the docker driver (no BuildKit image to pull here).</summary>
    public bool BuildxWithContainerdStore { get; init; }

    public string WorkDirectory { get; } = Directory.CreateTempSubdirectory("bf-dockerd-").FullName;
    public string Socket => Path.Combine(WorkDirectory, "docker.sock");
    private string BinDirectory { get; set; } = "";

    public async Task InitializeAsync()
    {
        var roots = BuildxWithContainerdStore ? Roots.Where(r => File.Exists(Path.Combine(r, "usr/libexec/docker/cli-plugins/docker-buildx"))) : Roots;
        var root = roots.FirstOrDefault(r => File.Exists(Path.Combine(r, "usr/sbin/dockerd")) && File.Exists(Path.Combine(r, "usr/bin/docker")))
                   ?? throw new InvalidOperationException("dockerd and docker not found (Debian's docker.io): run scripts/install-deps.sh (Debian docker.io) " +
                                                          "or scripts/buildkit-peer.sh start once");
        BinDirectory = Path.Combine(root, "usr/bin");
        var start = new ProcessStartInfo(Path.Combine(root, "usr/sbin/dockerd"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "--data-root", Path.Combine(WorkDirectory, "data"), "--exec-root", Path.Combine(WorkDirectory, "exec"),
                     "--pidfile", Path.Combine(WorkDirectory, "dockerd.pid"), "-H", $"unix://{Socket}",
                     "--iptables=false", "--ip6tables=false", "--bridge=none",
                     "--containerd-namespace", $"bft{Environment.ProcessId}", "--containerd-plugins-namespace", $"bftp{Environment.ProcessId}",
                 })
            start.ArgumentList.Add(arg);
        if (BuildxWithContainerdStore)
        {
            var config = Path.Combine(WorkDirectory, "daemon.json");
            await File.WriteAllTextAsync(config, """{"features":{"containerd-snapshotter":true}}""");
            start.ArgumentList.Add("--config-file");
            start.ArgumentList.Add(config);
            var plugins = Path.Combine(WorkDirectory, "cli", "cli-plugins");
            Directory.CreateDirectory(plugins);
            File.Copy(Path.Combine(root, "usr/libexec/docker/cli-plugins/docker-buildx"), Path.Combine(plugins, "docker-buildx"));
        }
        // its containerd and shims come from the same unpacked tree
        start.Environment["PATH"] = $"{BinDirectory}:{Path.Combine(root, "usr/sbin")}:{start.Environment["PATH"]}";
        _daemon = Process.Start(start)!;
        _daemon.OutputDataReceived += (_, _) => { };
        _daemon.ErrorDataReceived += (_, _) => { };
        _daemon.BeginOutputReadLine();
        _daemon.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_daemon.HasExited) throw new InvalidOperationException($"dockerd exited with {_daemon.ExitCode} while starting");
            if (File.Exists(Socket))
            {
                try
                {
                    await DockerAsync("version");
                    return;
                }
                catch (InvalidOperationException) { /* socket there, API not yet */ }
            }
            await Task.Delay(250);
        }
        throw new TimeoutException("dockerd did not answer within 60 s");
    }

    /// <summary>Runs the docker client against this daemon; throws with its stderr on failure.</summary>
    public async Task<string> DockerAsync(params string[] args) => (await DockerWithStderrAsync(args)).Stdout;

    /// <summary>Like <see cref="DockerAsync"/>, also giving stderr (where buildx writes its progress).</summary>
    public async Task<(string Stdout, string Stderr)> DockerWithStderrAsync(params string[] args)
    {
        var start = new ProcessStartInfo(Path.Combine(BinDirectory, "docker")) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DOCKER_HOST"] = $"unix://{Socket}";
        start.Environment["DOCKER_CONFIG"] = Path.Combine(WorkDirectory, "cli");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"docker {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}");
        return (await stdout, await stderr);
    }

    public async Task DisposeAsync()
    {
        if (_daemon is { HasExited: false } daemon)
        {
            using (var term = Process.Start("kill", ["-TERM", daemon.Id.ToString()])) await term.WaitForExitAsync();
            try { await daemon.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20)); }
            catch (TimeoutException) { daemon.Kill(entireProcessTree: true); }
        }
        _daemon?.Dispose();
        try { Directory.Delete(WorkDirectory, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
