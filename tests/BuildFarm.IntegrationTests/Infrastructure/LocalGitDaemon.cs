using System.Diagnostics;
using System.Net.Sockets;

namespace BuildFarm.IntegrationTests.Infrastructure;

/// <summary>
/// A real <c>git daemon</c> on 127.0.0.1 serving the repositories under its own temp folder (git://127.0.0.1:PORT/NAME.git),
/// with helpers to make commits and move tags there. Dispose stops the daemon (by its pid) and removes the folder.
/// </summary>
public sealed class LocalGitDaemon : IDisposable
{
    private readonly Process _daemon;

    public LocalGitDaemon()
    {
        Root = Directory.CreateTempSubdirectory("bf-git-").FullName;
        Port = FreeTcpPort.Next();
        var start = new ProcessStartInfo("git") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1", $"--port={Port}", $"--base-path={Root}", Root })
            start.ArgumentList.Add(a);
        _daemon = Process.Start(start)!;
        _daemon.BeginErrorReadLine();
        _daemon.BeginOutputReadLine();
        if (!FreeTcpPort.WaitUntilListening(Port, _daemon, TimeSpan.FromSeconds(10)))
            throw new InvalidOperationException($"git daemon did not listen on 127.0.0.1:{Port}");
    }

    public string Root { get; }
    public int Port { get; }

    /// <summary>git://127.0.0.1:PORT/NAME.git</summary>
    public string Url(string name) => $"git://127.0.0.1:{Port}/{name}.git";

    /// <summary>The working repository served as NAME.git (created empty on first use).</summary>
    public string Repository(string name)
    {
        var path = Path.Combine(Root, name + ".git");
        if (!Directory.Exists(path))
        {
            Directory.CreateDirectory(path);
            Git(path, "-c", "init.defaultBranch=main", "init", "-q");
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
        Git(repo, "add", "-A");
        Git(repo, "-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m", "change");
        return Git(repo, "rev-parse", "HEAD").Trim();
    }

    /// <summary>Points the (lightweight) tag at HEAD, moving it when it exists.</summary>
    public void Tag(string name, string tag) => Git(Repository(name), "tag", "-f", tag);

    public static string Git(string directory, params string[] args)
    {
        var start = new ProcessStartInfo("git") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = directory };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEnd();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"git {string.Join(' ', args)} exited {process.ExitCode}: {stderr}");
        return stdout;
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
