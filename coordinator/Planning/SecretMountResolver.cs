using BuildFarm.Coordinator.Dockerfile;
using BuildFarm.Coordinator.Dockerfile.Instructions;

namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// The one resolution of a secret mount's id and file target, done by the planner; the key, the step spec and the
/// worker all take its result as given. BuildKit's rule (dockerfile2llb/convert_secrets.go, dispatchSecret):
/// the id is <c>id=</c>, overridden by <c>source=</c>; without either, the base name of <c>target=</c>. The file goes to
/// <c>target=</c>, else <c>/run/secrets/&lt;base name of the id&gt;</c>; with <c>env=</c> and no target there is no file.
/// </summary>
public static class SecretMountResolver
{
    public const string DefaultDirectory = "/run/secrets/";

    /// <summary>The mount with <see cref="RunMount.CacheId"/> = the secret id, <see cref="RunMount.Source"/> empty
    /// and <see cref="RunMount.Target"/> = the file path ("" when the secret is an env variable only).
    /// Other mount types are returned as they are.</summary>
    public static RunMount Resolve(RunMount mount)
    {
        if (mount.Type != MountType.Secret) return mount;
        var id = mount.Source.Length > 0 ? mount.Source : mount.CacheId;
        if (id.Length == 0)
        {
            if (mount.Target.Length == 0)
                throw new DockerfileException("invalid secret mount. one of source, target required");
            id = GoPathBase(mount.Target);
        }
        var target = mount.Target.Length > 0 ? mount.Target
            : mount.Env is null ? DefaultTarget(id)
            : "";
        return mount with { CacheId = id, Source = "", Target = target };
    }

    /// <summary>Where a secret's file goes when no target is given.</summary>
    public static string DefaultTarget(string id) => DefaultDirectory + GoPathBase(id);

    /// <summary>Go's path.Base: the last element after trailing slashes are removed; "/" for only slashes, "." for "".</summary>
    private static string GoPathBase(string path)
    {
        if (path.Length == 0) return ".";
        var trimmed = path.TrimEnd('/');
        if (trimmed.Length == 0) return "/";
        return trimmed[(trimmed.LastIndexOf('/') + 1)..];
    }
}
