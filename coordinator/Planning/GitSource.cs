namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// An ADD source that names a git repository, as BuildKit's Dockerfile frontend recognises one (gitutil.IsGitTransport and
/// ParseGitRef): <c>git://…</c>, <c>git@host:path</c>, <c>ssh://…</c>, or an http(s) URL whose path ends in <c>.git</c>;
/// <c>#ref[:subdir]</c> picks the ref (branch, tag, commit; HEAD when empty) and a folder of the checkout.
/// </summary>
public sealed record GitSource(string Remote, string Ref, string Subdir)
{
    /// <summary>True when <paramref name="source"/> is a git repository rather than a plain URL or context path.</summary>
    public static bool IsGit(string source)
    {
        if (source.StartsWith("git://", StringComparison.Ordinal) || source.StartsWith("git@", StringComparison.Ordinal) ||
            source.StartsWith("ssh://", StringComparison.Ordinal))
            return true;
        var remote = source.Split('#', 2)[0];
        return (remote.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || remote.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) &&
               remote.EndsWith(".git", StringComparison.Ordinal);
    }

    /// <summary>Splits <c>remote#ref:subdir</c>; throws <see cref="FormatException"/> with the cause for a malformed one.</summary>
    public static GitSource Parse(string source)
    {
        if (!IsGit(source))
            throw new FormatException($"'{source}' is not a git repository URL");
        var parts = source.Split('#', 2);
        var remote = parts[0];
        var fragment = parts.Length > 1 ? parts[1] : "";
        var colon = fragment.IndexOf(':');
        var reference = colon < 0 ? fragment : fragment[..colon];
        var subdir = colon < 0 ? "" : fragment[(colon + 1)..];
        if (remote.Length == 0 || remote.EndsWith("://", StringComparison.Ordinal))
            throw new FormatException($"git source '{source}' names no repository");
        // A ref beginning with '-' would read as an option of git.
        if (reference.StartsWith('-') || reference.Any(char.IsWhiteSpace))
            throw new FormatException($"git source '{source}': '{reference}' is not a valid ref");
        var cleaned = subdir.Trim('/');
        if (cleaned.Split('/').Any(p => p == ".."))
            throw new FormatException($"git source '{source}': subdirectory '{subdir}' leaves the repository");
        return new GitSource(remote, reference, cleaned);
    }

    /// <summary>Over ssh (<c>ssh://…</c>, <c>git@host:path</c>): git needs the build's ssh agent, as BuildKit's git source
    /// mounts the "default" one.</summary>
    public bool IsSsh => Remote.StartsWith("ssh://", StringComparison.Ordinal) || Remote.StartsWith("git@", StringComparison.Ordinal);

    /// <summary>The ssh server of a remote over ssh: its host and port (null: the default, 22); throws
    /// <see cref="FormatException"/> for a remote that is not over ssh or names no host.</summary>
    public (string Host, int? Port) SshServer()
    {
        if (Remote.StartsWith("ssh://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(Remote, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
                throw new FormatException($"git source '{Remote}' names no ssh host");
            return (uri.DnsSafeHost, uri.Port > 0 ? uri.Port : null);
        }
        if (Remote.StartsWith("git@", StringComparison.Ordinal))
        {
            var rest = Remote["git@".Length..];
            var colon = rest.IndexOf(':');
            if (colon <= 0) throw new FormatException($"git source '{Remote}' names no ssh host (git@HOST:PATH)");
            return (rest[..colon], null);
        }
        throw new FormatException($"git source '{Remote}' is not over ssh");
    }

    /// <summary>A full commit id written as the ref: no remote lookup is needed to pin it.</summary>
    public bool RefIsCommit => Ref.Length == 40 && Ref.All(Uri.IsHexDigit);

    public override string ToString() => Remote + (Ref.Length > 0 || Subdir.Length > 0 ? "#" + Ref : "") + (Subdir.Length > 0 ? ":" + Subdir : "");
}
