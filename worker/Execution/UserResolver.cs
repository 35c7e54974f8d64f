using BuildFarm.Worker.FileOps;

namespace BuildFarm.Worker.Execution;

/// <summary>Resolves USER/--chown specs (<c>name</c>, <c>uid</c>, <c>name:group</c>, <c>uid:gid</c>) against the
/// image's own /etc/passwd and /etc/group, as Docker does: numeric ids need no entry, names must exist.</summary>
public static class UserResolver
{
    /// <remarks>Messages are those of moby/sys/user, which BuildKit's executor uses ("passwd file", not the worker's path of it).</remarks>
    public static ResolvedUser Resolve(string rootfs, string? spec)
    {
        if (string.IsNullOrEmpty(spec)) spec = "0";
        var colon = spec.IndexOf(':');
        var userPart = colon < 0 ? spec : spec[..colon];
        var groupPart = colon < 0 ? null : spec[(colon + 1)..];

        var passwd = ReadTable(rootfs, "/etc/passwd");
        string[]? entry = int.TryParse(userPart, out var numericUid)
            ? passwd.FirstOrDefault(f => f.Length > 2 && f[2] == userPart)
            : passwd.FirstOrDefault(f => f[0] == userPart);
        if (entry is null && !int.TryParse(userPart, out _))
            throw new UserNotFoundException($"unable to find user {userPart}: no matching entries in passwd file");
        var uid = entry is not null && int.TryParse(entry.ElementAtOrDefault(2), out var u) ? u : numericUid;
        var gid = entry is not null && int.TryParse(entry.ElementAtOrDefault(3), out var g) ? g : 0;
        var home = entry?.ElementAtOrDefault(5);
        var name = entry?[0];

        var groups = ReadTable(rootfs, "/etc/group");
        if (groupPart is not null)
        {
            if (int.TryParse(groupPart, out var numericGid)) gid = numericGid;
            else
            {
                var group = groups.FirstOrDefault(f => f[0] == groupPart)
                    ?? throw new UserNotFoundException($"unable to find group {groupPart}: no matching entries in group file");
                gid = int.Parse(group[2]);
            }
        }

        // Supplementary groups: the primary (or forced) group first, then, unless the group was forced, every group
        // listing the user by name, as BuildKit's runc executor sets them.
        var additional = groupPart is null && name is not null
            ? groups.Where(f => f.Length > 3 && f[3].Split(',').Contains(name) && int.TryParse(f[2], out _))
                .Select(f => int.Parse(f[2])).Prepend(gid).Distinct().ToList()
            : [gid];
        return new ResolvedUser(uid, gid, additional, string.IsNullOrEmpty(home) ? null : home);
    }

    /// <summary>Only the ids, for --chown: group defaults to the user's primary group, or the same number.</summary>
    public static (int Uid, int Gid) ResolveOwner(string rootfs, string spec)
    {
        // "--chown=1000" means 1000:1000 whatever the passwd file says, as BuildKit does (a name takes its primary group).
        if (!spec.Contains(':') && int.TryParse(spec, out var n)) return (n, n);
        var user = Resolve(rootfs, spec);
        return (user.Uid, user.Gid);
    }

    private static List<string[]> ReadTable(string rootfs, string path)
    {
        var file = RootedPath.ResolveScoped(rootfs, path);
        if (!File.Exists(file)) return [];
        return File.ReadLines(file)
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(':'))
            .Where(f => f.Length >= 3)
            .ToList();
    }
}
