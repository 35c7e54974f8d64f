using BuildFarm.IntegrationTests.EndToEnd;
using Xunit.Abstractions;

namespace BuildFarm.IntegrationTests.Conformance;

/// <summary>
/// The differential suite: every case under Conformance/Cases is built by BuildFarm and its normalized image compared
/// with BuildKit's golden. BUILDFARM_CONFORMANCE=live builds each case with BuildKit too (scripts/buildkit-peer.sh) and
/// compares with that instead; BUILDFARM_CONFORMANCE=regenerate rewrites the goldens from BuildKit
/// (scripts/conformance-goldens.sh). Prints <c>conformance: N cases, M identical to BuildKit</c> and each differing case.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ConformanceSuiteTests(BusyboxFixture busybox, ITestOutputHelper output)
{
    [Fact]
    public async Task Every_case_builds_the_image_buildkit_builds()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(40));
        var ct = timeout.Token;
        var mode = Environment.GetEnvironmentVariable("BUILDFARM_CONFORMANCE") ?? "golden";
        if (mode is not ("golden" or "live" or "regenerate"))
            throw new ArgumentException($"BUILDFARM_CONFORMANCE={mode}: expected golden, live or regenerate");
        var cases = ConformanceCatalog.Load();
        Assert.NotEmpty(cases);
        var known = KnownDifferences.Load(ConformanceCatalog.CasesFolder);
        var peer = mode == "golden" ? null : await BuildKitPeer.StartAsync(ExampleContext.RepositoryRoot, ct);
        var provenance = peer is null ? "" : await peer.VersionAsync(ct);
        var baseTree = await ImageTreeNormalizer.TreeOfTarAsync(busybox.Rootfs.TarPath, ct);

        var work = Directory.CreateTempSubdirectory("bf-conformance-").FullName;
        var cli = new BuildFarmCli(Path.Combine(work, "home"));
        var report = new List<string>();
        var identical = 0;
        var unexpected = new List<string>();
        try
        {
            foreach (var testCase in cases)
            {
                var context = Path.Combine(work, "ctx-" + testCase.Name);
                await ConformanceCatalog.PrepareContextAsync(testCase, busybox.Rootfs.TarPath, context, ct);
                var caseBase = testCase.UsesBusybox ? baseTree : null;

                BuildOutcome expected;
                if (peer is not null)
                {
                    var archive = Path.Combine(work, testCase.Name + ".buildkit.tar");
                    var error = await peer.BuildAsync(context, testCase.FlagsFor(context), $"bfconf-{testCase.Name.ToLowerInvariant()}:1", archive, ct);
                    expected = error is null ? BuildOutcome.Image(await ImageTreeNormalizer.NormalizeArchiveAsync(archive, caseBase, ct)) : BuildOutcome.Failed(error);
                    if (mode == "regenerate") expected.WriteGolden(testCase.GoldenPath, provenance);
                }
                else if (File.Exists(testCase.GoldenPath)) expected = BuildOutcome.ReadGolden(testCase.GoldenPath);
                else
                {
                    report.Add($"  {testCase.Name}: no golden.txt (run scripts/conformance-goldens.sh)");
                    unexpected.Add(testCase.Name);
                    continue;
                }

                var ours = await BuildOursAsync(cli, testCase, context, Path.Combine(work, testCase.Name + ".ours.tar"), caseBase, ct);
                var differences = ours.DifferencesFrom(expected);
                if (differences.Count == 0)
                {
                    identical++;
                    if (known.ContainsKey(testCase.Name))
                    {
                        report.Add($"  {testCase.Name}: now identical; remove it from known-differences.txt");
                        unexpected.Add(testCase.Name);
                    }
                    continue;
                }
                var isKnown = known.TryGetValue(testCase.Name, out var reason);
                report.Add($"  {testCase.Name} ({testCase.Covers}): {(isKnown ? "known difference: " + reason : "DIFFERS")}");
                report.AddRange(differences.Take(20).Select(d => "    " + d));
                if (differences.Count > 20) report.Add($"    … {differences.Count - 20} more");
                if (!isKnown) unexpected.Add(testCase.Name);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        var summary = $"conformance: {cases.Count} cases, {identical} identical to BuildKit ({mode})";
        output.WriteLine(summary);
        foreach (var line in report) output.WriteLine(line);
        Console.WriteLine(summary);
        Assert.True(unexpected.Count == 0,
            $"{summary}; not as expected: {string.Join(", ", unexpected)}\n{string.Join('\n', report)}");
    }

    private static async Task<BuildOutcome> BuildOursAsync(BuildFarmCli cli, ConformanceCase testCase, string context, string archive,
        IReadOnlyDictionary<string, string>? baseTree, CancellationToken ct)
    {
        var build = await cli.BuildAsync([.. testCase.FlagsFor(context), "-o", $"type=docker,dest={archive}", context]);
        if (build.ExitCode != 0)
        {
            var error = build.Stderr.Split('\n').LastOrDefault(l => l.StartsWith("ERROR", StringComparison.Ordinal)) ?? build.Stderr.Trim().Split('\n').Last();
            // the same trimming as BuildKitPeer's: the message, without the prefix each CLI puts before it
            return BuildOutcome.Failed(error.Replace("ERROR: ", "", StringComparison.Ordinal).Replace("failed to solve: ", "", StringComparison.Ordinal).Trim());
        }
        return BuildOutcome.Image(await ImageTreeNormalizer.NormalizeArchiveAsync(archive, baseTree, ct));
    }
}
