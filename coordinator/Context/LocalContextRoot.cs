using BuildFarm.Oci.Native;
using BuildFarm.Protos.V1;
using Grpc.Core;

namespace BuildFarm.Coordinator.Context;

/// <summary>
/// A client's context folder that a server on the same host reads in place (<c>ContextManifest.local_root</c>), as an
/// embedded build does: no upload, no copy into the store, the home's hash cache applies. BuildKit's local source reads
/// the folder through its client session; a resident engine is the client's own user (checked on its socket), so it
/// opens the folder itself. The client names the folder by path and by device:inode, so a server that sees another
/// folder at that path (another mount namespace) refuses instead of building the wrong files.
/// </summary>
public static class LocalContextRoot
{
    /// <summary>"DEVICE:INODE" of the folder (the entry itself: a symlinked root names the link on both sides alike); empty
    /// when it cannot be read.</summary>
    public static string IdentityOf(string root) => Posix.TryLStat(root, out var status) ? $"{status.Device}:{status.Inode}" : "";

    /// <summary>The folder a manifest asks this server to read, checked: absolute, a directory here, the one the client
    /// saw. An <see cref="RpcException"/> (INVALID_ARGUMENT) names the cause otherwise.</summary>
    public static string Check(ContextManifest manifest)
    {
        var root = manifest.LocalRoot;
        if (!Path.IsPathFullyQualified(root) || root.Contains('\0'))
            throw Invalid($"build context {root}: a folder read in place must be an absolute path");
        if (!Directory.Exists(root))
            throw Invalid($"build context {root}: not a folder on the engine's host (send the context instead: --embedded, or --server)");
        if (manifest.LocalRootIdentity.Length > 0 && IdentityOf(root) != manifest.LocalRootIdentity)
            throw Invalid($"build context {root}: the engine sees another folder at that path (another mount namespace?): build with --embedded");
        if (manifest.LocalDockerfile.Length > 0 && !Path.IsPathFullyQualified(manifest.LocalDockerfile))
            throw Invalid($"Dockerfile {manifest.LocalDockerfile}: a Dockerfile beside a context read in place must be an absolute path");
        return root;
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
