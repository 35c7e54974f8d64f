using System.Diagnostics;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>
/// The native client (issue 16): it builds through a running engine's unix socket itself, and hands everything else —
/// no engine, an engine of another version, another verb — to the managed CLI with the same argv and exit code.
/// The engine here is a real <c>buildfarm serve</c>, reached through a unix socket relayed to its TCP port.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class NativeClientTests(BusyboxFixture busybox, NativeClientFixture native) : IClassFixture<NativeClientFixture>, IDisposable
{
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    // Client and engine agree through the override, so a commit between the test build and the client's publish (which
    // changes the informational version of one of them) cannot decide these tests; the handshake has tests of its own.
    private const string Version = "native-client-test";

    private BuildFarmCli Native(string home) => new(home)
    {
        Executable = native.BinaryPath,
        Environment =
        {
            ["BUILDFARM_MANAGED_CLI"] = BuildFarmCli.CommandPath,
            ["BUILDFARM_CLIENT_TRACE"] = "1",
            ["BUILDFARM_VERSION_OVERRIDE"] = Version,
        },
    };

    [Fact]
    public async Task Native_client_builds_through_a_running_engine_with_the_managed_clients_image_id()
    {
        await using var engine = await RelayedEngine.StartAsync(_scratch.Cli, Version);
        var context = _scratch.CopyExample();
        var copied = DateTimeOffset.UtcNow;
        var nativeIid = Path.Combine(_scratch.Root, "native.iid");
        var managedIid = Path.Combine(_scratch.Root, "managed.iid");

        var built = await Native(_scratch.Home).BuildAsync("-t", "native:1", "--iidfile", nativeIid, context);
        Assert.True(built.ExitCode == 0, built.ToString());
        Assert.True(built.Stderr.Contains($"native build through unix:{engine.Relay.Path}"), built.ToString());
        Assert.Equal(8, new PlainProgress(built.Stderr).Executed.Count);
        Assert.True(engine.Relay.Accepted >= 1);

        var managed = await new BuildFarmCli(Path.Combine(_scratch.Root, "managed-home"))
            .BuildAsync("--server", $"127.0.0.1:{engine.Port}", "-t", "managed:1", "--iidfile", managedIid, context);
        Assert.True(managed.ExitCode == 0, managed.ToString());
        Assert.Equal(8, new PlainProgress(managed.Stderr).Cached.Count);
        Assert.StartsWith("sha256:", await File.ReadAllTextAsync(nativeIid));
        Assert.Equal(await File.ReadAllTextAsync(managedIid), await File.ReadAllTextAsync(nativeIid));

        // -q prints the image id only; the rebuild is all cached and the context hashes come from the hash cache, which
        // remembers only files changed well before the walk (racy-git rule): give the fresh copy that age first
        var settled = copied.AddSeconds(4) - DateTimeOffset.UtcNow;
        if (settled > TimeSpan.Zero) await Task.Delay(settled);
        var quiet = await Native(_scratch.Home).RunAsync("build", "-q", context);
        Assert.True(quiet.ExitCode == 0, quiet.ToString());
        Assert.Equal(await File.ReadAllTextAsync(nativeIid), quiet.Stdout.Trim());
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_scratch.Home, "context-hashes")));
    }

    [Fact]
    public async Task Native_client_through_a_resident_engine_has_the_context_read_in_place()
    {
        var home = Path.Combine(_scratch.Root, "resident-home");
        var managed = new BuildFarmCli(home) { Environment = { ["BUILDFARM_ENGINE"] = "resident", ["BUILDFARM_VERSION_OVERRIDE"] = Version } };
        var context = _scratch.Context("in-place", "FROM scratch\nADD rootfs.tar /\nCOPY data/ /data/\n", ("data/a.txt", "a\n"));
        try
        {
            var started = await managed.BuildAsync(context); // starts this home's engine
            Assert.True(started.ExitCode == 0, started.ToString());

            var built = await Native(home).BuildAsync(context);

            Assert.True(built.ExitCode == 0, built.ToString());
            Assert.True(built.Stderr.Contains("native build through unix:"), built.ToString());
            var inPlace = File.ReadLines(Path.Combine(home, "engine.log")).Count(l => l.Contains($"build context read in place: {context} (0 files uploaded)"));
            Assert.Equal(2, inPlace);
        }
        finally
        {
            await managed.RunAsync("serve", "--stop");
        }
    }

    [Fact]
    public async Task Native_client_reports_a_failing_step_as_the_managed_client_does()
    {
        await using var engine = await RelayedEngine.StartAsync(_scratch.Cli, Version);
        var failing = _scratch.Context("failing", "FROM scratch\nADD rootfs.tar /\nRUN echo native-boom && exit 5\n");

        var failed = await Native(_scratch.Home).BuildAsync(failing);

        Assert.Equal(1, failed.ExitCode);
        Assert.True(failed.Stderr.Contains("native build through unix:"), failed.ToString());
        Assert.Contains("Dockerfile:3", failed.Stderr);
        Assert.Contains("native-boom", failed.Stderr);
        Assert.Contains("ERROR: failed to solve:", failed.Stderr);
    }

    [Fact]
    public async Task Native_client_on_a_terminal_draws_the_live_tty_view_by_default()
    {
        await using var engine = await RelayedEngine.StartAsync(_scratch.Cli, Version);
        var context = _scratch.Context("ctx", "FROM scratch\nADD rootfs.tar /\nRUN echo on-the-terminal\n");
        await using var terminal = await TmuxTerminal.StartAsync(
            $"env -u CI BUILDFARM_HOME='{_scratch.Home}' BUILDFARM_VERSION_OVERRIDE={Version} BUILDFARM_CLIENT_TRACE=1 " +
            $"BUILDFARM_MANAGED_CLI='{BuildFarmCli.CommandPath}' '{native.BinaryPath}' build -t tty:1 '{context}'; echo \"BUILD-EXIT=$?\"");

        var final = await terminal.WaitForScreenAsync(s => s.Contains("BUILD-EXIT="), TimeSpan.FromMinutes(2), "the end of the build");

        Assert.Contains("BUILD-EXIT=0", final);
        Assert.Contains("native build through unix:", final);
        Assert.Matches(@"\[\+\] Building \d+\.\ds \(\d+/\d+\) FINISHED", final);
        Assert.Matches(@" => \[stage-0 3/3\] RUN echo on-the-terminal +\d+\.\ds", final);
        Assert.Contains(" => naming to tty:1 done", final);
    }

    [Fact]
    public async Task Sigint_cancels_the_native_clients_build_in_the_engine_with_exit_130()
    {
        await using var engine = await RelayedEngine.StartAsync(_scratch.Cli, Version);
        var context = _scratch.Context("slow", "FROM scratch\nADD rootfs.tar /\nRUN echo started-sleeping && sleep 120\n");
        using var build = Native(_scratch.Home).Start("build", "--progress", "plain", context);
        build.StandardInput.Close();
        var stdout = build.StandardOutput.ReadToEndAsync();
        var stderr = new System.Text.StringBuilder();
        var sawStart = new TaskCompletionSource();
        build.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.AppendLine(e.Data);
            if (e.Data.Contains("started-sleeping")) sawStart.TrySetResult();
        };
        build.BeginErrorReadLine();
        await sawStart.Task.WaitAsync(TimeSpan.FromMinutes(2));

        var stopwatch = Stopwatch.StartNew();
        await BuildFarmCli.ToolAsync("kill", "-INT", build.Id.ToString());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await build.WaitForExitAsync(timeout.Token);
        build.WaitForExit(); // lets the stderr reader finish
        await stdout;

        Assert.True(build.ExitCode == 130, $"exit {build.ExitCode}\n{stderr}");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"cancel took {stopwatch.Elapsed}");
        Assert.Contains("ERROR: canceled", stderr.ToString());
        // the engine stopped the step's container too (the client said Cancel)
        var runcRoot = Path.Combine(_scratch.Home, "worker", "runc");
        for (var i = 0; i < 40 && (await BuildFarmCli.ToolAsync("runc", "--root", runcRoot, "list", "-q")).Trim().Length > 0; i++)
            await Task.Delay(500);
        Assert.Equal("", (await BuildFarmCli.ToolAsync("runc", "--root", runcRoot, "list", "-q")).Trim());
    }

    [Fact]
    public async Task Without_an_engine_the_native_client_hands_the_argv_to_the_managed_cli_with_its_exit_code()
    {
        var nativeCli = Native(_scratch.Home);
        var managedCli = new BuildFarmCli(_scratch.Home) { Environment = { ["BUILDFARM_CLIENT_TRACE"] = "1" } };
        string[][] lines =
        [
            ["build", "--progress", "plain", Path.Combine(_scratch.Root, "no-such-context")],
            ["version"],
            ["images", "--no-such-flag"],
            ["rmi", "no-such-image:1"],
        ];
        foreach (var line in lines)
        {
            var viaNative = await nativeCli.RunAsync(line);
            var managed = await managedCli.RunAsync(line);
            Assert.True(managed.ExitCode == viaNative.ExitCode, $"{string.Join(' ', line)}\nnative: {viaNative}\nmanaged: {managed}");
            Assert.Equal(managed.Stdout, viaNative.Stdout);
            // the managed CLI ran in both (its trace line), after the native client said why it handed over
            Assert.Contains("buildfarm: managed CLI:", viaNative.Stderr);
            Assert.Contains("buildfarm-client: managed CLI:", viaNative.Stderr);
        }
        Assert.Equal(1, (await nativeCli.RunAsync(lines[0])).ExitCode);
    }

    [Fact]
    public async Task An_engine_of_another_version_is_not_used()
    {
        await using var engine = new UnixSocketRelay(Path.Combine(_scratch.Home, "engine.sock"), target: null);
        RelayedEngine.WriteRecord(_scratch.Home, Environment.ProcessId, "0.0.1+an-older-cli", engine.Path);

        var result = await Native(_scratch.Home).RunAsync("build", "--progress", "plain", Path.Combine(_scratch.Root, "no-such-context"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("engine version 0.0.1+an-older-cli", result.Stderr);
        Assert.Contains("unable to prepare context", result.Stderr); // the managed CLI's words
        Assert.Equal(0, engine.Accepted); // never even connected
    }

    [Fact]
    public async Task An_engine_record_whose_socket_does_not_answer_is_not_used()
    {
        RelayedEngine.WriteRecord(_scratch.Home, 999_999, Version, Path.Combine(_scratch.Home, "engine.sock"));

        var result = await Native(_scratch.Home).RunAsync("build", "--progress", "plain", Path.Combine(_scratch.Root, "no-such-context"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("buildfarm-client: managed CLI:", result.Stderr);
        Assert.Contains("unable to prepare context", result.Stderr);
    }
}
