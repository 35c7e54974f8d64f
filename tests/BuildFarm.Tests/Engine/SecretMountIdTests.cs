using BuildFarm.Coordinator.Api;
using BuildFarm.Coordinator.Dockerfile.Instructions;

namespace BuildFarm.Tests.Engine;

/// <summary>A secret mount's id as BuildKit's dispatchSecret resolves it: id, else src, else the target's base name.</summary>
public sealed class SecretMountIdTests
{
    private static string IdOf(string mount) => PlanGraphBuilder.SecretIdOf(RunMountParser.Parse(mount, s => s));

    [Fact]
    public void Secret_mount_with_only_src_uses_src_as_its_id() =>
        Assert.Equal("npmrc", IdOf("type=secret,src=npmrc"));

    [Fact]
    public void Secret_mount_with_only_a_target_uses_the_targets_base_name() =>
        Assert.Equal("f", IdOf("type=secret,target=/run/x/f"));

    [Fact]
    public void Secret_mount_with_an_id_uses_it_whatever_the_target() =>
        Assert.Equal("token", IdOf("type=secret,id=token,target=/run/x/f"));
}
