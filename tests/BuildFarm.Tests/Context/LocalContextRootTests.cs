using BuildFarm.Coordinator.Context;
using BuildFarm.Protos.V1;
using Grpc.Core;

namespace BuildFarm.Tests.Context;

public sealed class LocalContextRootTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bf-local-ctx-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_folder_named_with_its_own_identity_is_read_in_place()
    {
        var manifest = new ContextManifest { LocalRoot = _root, LocalRootIdentity = LocalContextRoot.IdentityOf(_root) };
        Assert.Equal(_root, LocalContextRoot.Check(manifest));
    }

    [Fact]
    public void Another_folder_at_the_same_path_is_refused()
    {
        var other = Directory.CreateDirectory(Path.Combine(_root, "other")).FullName;
        var manifest = new ContextManifest { LocalRoot = _root, LocalRootIdentity = LocalContextRoot.IdentityOf(other) };
        var e = Assert.Throws<RpcException>(() => LocalContextRoot.Check(manifest));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("another folder at that path", e.Status.Detail);
    }

    [Theory]
    [InlineData("relative/ctx", "absolute path")]
    [InlineData("/nonexistent/bf-ctx", "not a folder on the engine's host")]
    public void A_relative_or_missing_folder_is_refused_naming_it(string root, string why)
    {
        var e = Assert.Throws<RpcException>(() => LocalContextRoot.Check(new ContextManifest { LocalRoot = root }));
        Assert.Contains(root, e.Status.Detail);
        Assert.Contains(why, e.Status.Detail);
    }
}
