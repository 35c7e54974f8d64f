using BuildFarm.Coordinator.Engine;
using BuildFarm.Protos.Cluster;

namespace BuildFarm.Tests.Engine;

/// <summary>Where a RUN for a platform goes: only to a worker that runs it, natively before emulated.</summary>
public class PlatformChoiceTests
{
    private static readonly WorkerPlatform Amd64 = new() { Platform = "linux/amd64" };
    private static readonly WorkerPlatform Arm64Emulated = new() { Platform = "linux/arm64", Emulated = true, Emulator = "/usr/bin/qemu-aarch64-static" };
    private static readonly WorkerPlatform Arm64Native = new() { Platform = "linux/arm64" };

    private static WorkerCandidate Worker(string id, int busy, string platform, params WorkerPlatform[] offered) =>
        new(id, 4, busy, new HashSet<string>(), WorkerPlatformMatch.Fit(offered, platform));

    [Fact]
    public void A_step_for_arm64_never_goes_to_a_worker_without_arm64_however_idle()
    {
        WorkerCandidate[] workers = [Worker("amd64-only", 0, "linux/arm64", Amd64), Worker("emulates", 3, "linux/arm64", Amd64, Arm64Emulated)];

        Assert.Equal(1, WorkerChoice.Pick(workers, null, []));
    }

    [Fact]
    public void A_worker_running_the_platform_natively_wins_over_a_less_loaded_emulating_one()
    {
        WorkerCandidate[] workers = [Worker("emulates", 0, "linux/arm64", Amd64, Arm64Emulated), Worker("native", 3, "linux/arm64", Arm64Native)];

        Assert.Equal(1, WorkerChoice.Pick(workers, null, []));
    }

    [Fact]
    public void No_worker_that_runs_the_platform_means_no_pick()
    {
        WorkerCandidate[] workers = [Worker("amd64-only", 0, "linux/s390x", Amd64, Arm64Emulated)];

        Assert.Equal(-1, WorkerChoice.Pick(workers, null, []));
    }

    [Fact]
    public void Arm64_variant_v8_matches_a_worker_offering_plain_arm64()
    {
        Assert.Equal(PlatformFit.Emulated, WorkerPlatformMatch.Fit([Amd64, Arm64Emulated], "linux/arm64/v8"));
    }

    [Fact]
    public void File_operations_need_no_platform_so_any_worker_fits()
    {
        var copy = new StepDefinition { Platform = "linux/arm64", Copy = new CopyOp() };

        Assert.Equal("", WorkerPlatformMatch.Required(copy));
        Assert.Equal(PlatformFit.Native, WorkerPlatformMatch.Fit([Amd64], WorkerPlatformMatch.Required(copy)));
    }
}
