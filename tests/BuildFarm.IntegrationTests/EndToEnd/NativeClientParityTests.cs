using System.Text.RegularExpressions;
using BuildFarm.IntegrationTests.Infrastructure;

namespace BuildFarm.IntegrationTests.EndToEnd;

/// <summary>
/// What users pass that the native client handles itself (issue 16): secrets, file outputs, the token, the checks' summary.
/// Each build through it matches the same build <c>--embedded</c>: the image id, the exported files, the text it prints
/// (modulo times). The engine is a real <c>buildfarm serve</c> relayed to <c>$BUILDFARM_HOME/engine.sock</c>.
/// </summary>
[Collection(EndToEndCollection.Name), System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class NativeClientParityTests(BusyboxFixture busybox, NativeClientFixture native) : IClassFixture<NativeClientFixture>, IDisposable
{
    private const string Version = "native-parity-test";
    private const string Epoch = "1700000000";
    private const string TraceLine = "buildfarm-client: native build through unix:";
    private readonly ExampleContext _scratch = new(busybox.Rootfs);

    public void Dispose() => _scratch.Dispose();

    private BuildFarmCli Native() => new(_scratch.Home)
    {
        Executable = native.BinaryPath,
        Environment =
        {
            ["BUILDFARM_MANAGED_CLI"] = BuildFarmCli.CommandPath,
            ["BUILDFARM_CLIENT_TRACE"] = "1",
            ["BUILDFARM_VERSION_OVERRIDE"] = Version,
            ["SOURCE_DATE_EPOCH"] = Epoch,
        },
    };

    private BuildFarmCli Embedded() => new(Path.Combine(_scratch.Root, "embedded-home")) { Environment = { ["SOURCE_DATE_EPOCH"] = Epoch } };

    [Fact]
    public async Task Native_client_prints_progress_and_the_checks_summary_as_the_embedded_build()
    {
        await using var engine = await RelayedEngine.StartAsync(_scratch.Cli, Version);
        var context = _scratch.Context("lint", "FROM scratch as base\nADD rootfs.tar /\nRUN echo one && echo two\nCMD echo hi\n");

        var viaNative = await Native().BuildAsync("-t", "parity:1", context);
        var embedded = await Embedded().BuildAsync("--embedded", "-t", "parity:1", context);

        Assert.True(viaNative.ExitCode == 0, viaNative.ToString());
        Assert.True(embedded.ExitCode == 0, embedded.ToString());
        Assert.Contains(TraceLine, viaNative.Stderr); // the native client built it, not the managed CLI it falls back to
        Assert.Contains("2 warnings found (use docker --debug to expand):\n - FromAsCasing:", embedded.Stderr);
        Assert.Equal(WithoutTimes(embedded.Stderr), WithoutTimes(viaNative.Stderr));
        Assert.Equal(embedded.Stdout, viaNative.Stdout);
    }

    [Fact]
    public async Task Native_client_sends_secrets_and_brings_exports_identical_to_the_embedded_builds()
    {
        await using var engine = await RelayedEngine.StartAsync(_scratch.Cli, Version);
        var context = _scratch.Context("secret",
            "FROM scratch\nADD rootfs.tar /\nRUN --mount=type=secret,id=tok cat /run/secrets/tok > /seen && mkdir -p /d && echo x > /d/f && chmod 640 /d/f\n");
        var secretFile = Path.Combine(_scratch.Root, "tok.txt");
        await File.WriteAllTextAsync(secretFile, "s3cr3t-from-a-file");
        string[] Arguments(string dir) =>
        [
            "--secret", $"id=tok,src={secretFile}", "--iidfile", Path.Combine(dir, "iid"),
            "-o", $"type=local,dest={Path.Combine(dir, "local")}", "--output", $"type=tar,dest={Path.Combine(dir, "fs.tar")}", context,
        ];
        var nativeDir = Directory.CreateDirectory(Path.Combine(_scratch.Root, "out-native")).FullName;
        var embeddedDir = Directory.CreateDirectory(Path.Combine(_scratch.Root, "out-embedded")).FullName;

        var viaNative = await Native().BuildAsync(Arguments(nativeDir));
        var embedded = await Embedded().BuildAsync(["--embedded", .. Arguments(embeddedDir)]);

        Assert.True(viaNative.ExitCode == 0, viaNative.ToString());
        Assert.True(embedded.ExitCode == 0, embedded.ToString());
        Assert.Contains(TraceLine, viaNative.Stderr);
        Assert.Equal("s3cr3t-from-a-file", await File.ReadAllTextAsync(Path.Combine(nativeDir, "local", "seen")));
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(embeddedDir, "iid")), await File.ReadAllTextAsync(Path.Combine(nativeDir, "iid")));
        Assert.Equal(Tree(Path.Combine(embeddedDir, "local")), Tree(Path.Combine(nativeDir, "local")));
        Assert.Equal(await TarListingAsync(Path.Combine(embeddedDir, "fs.tar")), await TarListingAsync(Path.Combine(nativeDir, "fs.tar")));
        Assert.DoesNotContain("s3cr3t", viaNative.Stderr);
    }

    [Fact]
    public async Task Native_client_sends_its_token_to_an_engine_with_a_tokens_file()
    {
        var tokens = Path.Combine(_scratch.Root, "tokens");
        await File.WriteAllTextAsync(tokens, "native-token-123 team-native\n");
        File.SetUnixFileMode(tokens, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await using var engine = await RelayedEngine.StartAsync(_scratch.Cli, Version, "--tokens", tokens);
        var context = _scratch.Context("token", "FROM scratch\nADD rootfs.tar /\n");

        var withFlag = await Native().BuildAsync("--token", "native-token-123", context);
        var fromEnvironment = Native();
        fromEnvironment.Environment["BUILDFARM_TOKEN"] = "not-a-token";
        var refused = await fromEnvironment.BuildAsync(context);

        Assert.True(withFlag.ExitCode == 0, withFlag.ToString());
        Assert.Contains(TraceLine, withFlag.Stderr);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("unknown token", refused.Stderr);
        Assert.Contains(TraceLine, refused.Stderr);
    }

    [Fact]
    public async Task A_secret_the_managed_cli_refuses_is_handed_to_it()
    {
        await using var engine = await RelayedEngine.StartAsync(_scratch.Cli, Version);
        var context = _scratch.Context("unset", "FROM scratch\nADD rootfs.tar /\n");

        var result = await Native().BuildAsync("--secret", "id=tok,env=BUILDFARM_TEST_UNSET_VARIABLE", context);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("buildfarm-client: managed CLI: --secret id=tok,env=BUILDFARM_TEST_UNSET_VARIABLE", result.Stderr);
        Assert.Contains("ERROR: secret tok: environment variable BUILDFARM_TEST_UNSET_VARIABLE is not set", result.Stderr);
    }

    /// <summary>The lines without their times, the native client's trace line, and the context publication the engine logs.</summary>
    private static List<string> WithoutTimes(string output) =>
        [.. output.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0 && !l.StartsWith("buildfarm-client:", StringComparison.Ordinal))
            .Select(l => Time().Replace(l, "T"))];

    /// <summary>Every file, folder and link under <paramref name="root"/> with its mode and content.</summary>
    private static List<string> Tree(string root) =>
        [.. Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(path =>
        {
            var info = new FileInfo(path);
            var relative = Path.GetRelativePath(root, path);
            if (info.LinkTarget is { } target) return $"{relative} -> {target}";
            if (Directory.Exists(path)) return $"{relative}/ {File.GetUnixFileMode(path)}";
            return $"{relative} {File.GetUnixFileMode(path)} {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)))}";
        })];

    private static async Task<string> TarListingAsync(string tar) => await BuildFarmCli.ToolAsync("tar", "-tvf", tar, "--numeric-owner", "--full-time");

    [GeneratedRegex(@"\d+\.\d+s?")]
    private static partial Regex Time();
}
