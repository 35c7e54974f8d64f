using System.Diagnostics;
using System.Net.Sockets;

namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>
/// A real <c>sshd</c> (Debian's openssh-server) on 127.0.0.1 and a free port, with its own host key, serving git
/// repositories under its own temp folder over ssh to one client key it made (<see cref="ClientKey"/>, for a test's
/// ssh agent): ssh://USER@127.0.0.1:PORT/ROOT/NAME.git. Touches no file of this host's ssh setup; Dispose stops the
/// daemon (its pid, and the per-connection children) and removes the folder.
/// </summary>
public sealed class LocalSshGitServer : IDisposable
{
    private const string Sshd = "/usr/sbin/sshd";
    private readonly Process _daemon;
    private readonly System.Text.StringBuilder _log = new();

    public LocalSshGitServer()
    {
        if (!File.Exists(Sshd))
            throw new InvalidOperationException($"{Sshd} is missing: scripts/install-deps.sh installs openssh-server");
        Root = Directory.CreateTempSubdirectory("bf-sshgit-").FullName;
        Port = FreeTcpPort.Next();
        var hostKey = Path.Combine(Root, "ssh_host_ed25519_key");
        ClientKey = Path.Combine(Root, "id_client");
        Tool("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sshd-host", "-f", hostKey);
        Tool("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "git-over-ssh-client", "-f", ClientKey);
        var authorized = Path.Combine(Root, "authorized_keys");
        File.Copy(ClientKey + ".pub", authorized);
        HostPublicKey = File.ReadAllText(hostKey + ".pub").Trim();
        var config = Path.Combine(Root, "sshd_config");
        // StrictModes off: the folder lives under the world-writable /tmp; only the key made here is authorized.
        File.WriteAllText(config, $"""
            ListenAddress 127.0.0.1:{Port}
            HostKey {hostKey}
            AuthorizedKeysFile {authorized}
            StrictModes no
            PubkeyAuthentication yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            UsePAM no
            PidFile none
            LogLevel INFO

            """);
        Directory.CreateDirectory("/run/sshd"); // privilege separation folder sshd insists on (the package makes it at boot)
        var start = new ProcessStartInfo(Sshd) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-D", "-e", "-f", config }) start.ArgumentList.Add(a);
        _daemon = Process.Start(start)!;
        _daemon.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _daemon.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _daemon.BeginErrorReadLine();
        _daemon.BeginOutputReadLine();
        if (!FreeTcpPort.WaitUntilListening(Port, _daemon, TimeSpan.FromSeconds(10)))
        {
            Dispose();
            throw new InvalidOperationException($"sshd did not listen on 127.0.0.1:{Port}:\n{Log}");
        }
    }

    public string Root { get; }
    public int Port { get; }

    /// <summary>The private key sshd accepts (no passphrase): give it to the build's agent (--ssh default=KEY).</summary>
    public string ClientKey { get; }

    /// <summary>sshd's host public key ("ssh-ed25519 AAAA… sshd-host").</summary>
    public string HostPublicKey { get; }

    /// <summary>What sshd logged (accepted keys, refusals), for a failing assertion's message.</summary>
    public string Log { get { lock (_log) return _log.ToString(); } }

    /// <summary>ssh://USER@127.0.0.1:PORT/ROOT/NAME.git</summary>
    public string Url(string name) => $"ssh://{Environment.UserName}@127.0.0.1:{Port}{Repository(name)}";

    /// <summary>The working repository served as NAME.git (created empty on first use).</summary>
    public string Repository(string name)
    {
        var path = Path.Combine(Root, "repos", name + ".git");
        if (!Directory.Exists(path))
        {
            Directory.CreateDirectory(path);
            LocalGitDaemon.Git(path, "-c", "init.defaultBranch=main", "init", "-q");
        }
        return path;
    }

    /// <summary>Writes the files and commits them; returns the new commit id.</summary>
    public string Commit(string name, params (string Path, string Content)[] files)
    {
        var repo = Repository(name);
        foreach (var (path, content) in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(repo, path))!);
            File.WriteAllText(Path.Combine(repo, path), content);
        }
        LocalGitDaemon.Git(repo, "add", "-A");
        LocalGitDaemon.Git(repo, "-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m", "change");
        return LocalGitDaemon.Git(repo, "rev-parse", "HEAD").Trim();
    }

    public void Tag(string name, string tag) => LocalGitDaemon.Git(Repository(name), "tag", "-f", tag);

    private static void Tool(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {stderr}");
    }

    public void Dispose()
    {
        if (!_daemon.HasExited)
        {
            _daemon.Kill(entireProcessTree: true);
            _daemon.WaitForExit();
        }
        _daemon.Dispose();
        Directory.Delete(Root, recursive: true);
    }
}
