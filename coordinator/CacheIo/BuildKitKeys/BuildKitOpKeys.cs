namespace BuildFarm.Coordinator.CacheIo.BuildKitKeys;

/// <summary>
/// The cache-map digests BuildKit v0.13 computes for the ops a Dockerfile becomes (solver/llbsolver/ops: source.go,
/// exec.go, file.go), from the same fields in the same JSON. Each mirrors one Go function; a field the farm does not
/// model is never guessed: the caller gives up on the step instead (no key, no hit).
/// </summary>
public static class BuildKitOpKeys
{
    private const string SourceCacheType = "buildkit.source.v0";
    private const string ExecCacheType = "buildkit.exec.v0";
    private const string FileCacheType = "buildkit.file.v0";

    /// <summary>pb.NetMode: the farm's RUN without network is BuildKit's NONE; UNSET (sandbox) has a network here.</summary>
    public const int NetModeHost = 1;
    public const int NetModeNone = 2;

    /// <summary>pb.SecurityMode INSECURE (RUN --security=insecure).</summary>
    public const int SecurityInsecure = 1;

    /// <summary>An exec's root mount reads all of "/": its link to the parent's record carries this selector.</summary>
    public static string RootMountSelector { get; } = BuildKitDigest.Selector("/");

    /// <summary>
    /// An image source's two cache maps (containerimage puller.CacheKey): index 0 the main manifest key (manifest digest
    /// and platform), index 1 the chain id of its rootfs diff ids. BuildKit exports a record for each.
    /// </summary>
    public static IReadOnlyList<string> ImageSource(string manifestDigest, BuildKitPlatform platform, IReadOnlyList<string> diffIds)
    {
        // mainManifestKey: json.Marshal of {Digest, OS, Arch, Variant omitempty, OSVersion omitempty, OSFeatures omitempty, Limit omitempty}
        var manifestKey = new GoJson().BeginObject()
            .Name("Digest").String(manifestDigest)
            .Name("OS").String(platform.Os)
            .Name("Arch").String(platform.Architecture);
        if (platform.Variant.Length > 0) manifestKey.Name("Variant").String(platform.Variant);
        manifestKey.EndObject();
        var keys = new List<string> { SourceKey(BuildKitDigest.Of(manifestKey.ToUtf8())) };
        if (diffIds.Count > 0) keys.Add(SourceKey(BuildKitDigest.ChainId(diffIds)));
        return keys;
    }

    // SourceOp.CacheMap: digest.FromBytes("buildkit.source.v0:" + the source's key)
    private static string SourceKey(string key) => BuildKitDigest.Of(SourceCacheType + ":" + key);

    /// <summary>
    /// ExecOp.CacheMap for a RUN with only its root mount (which the cache map drops: "cache compatibility with buggy
    /// versions"): {"Type","Exec":pb.ExecOp with its proto json tags and omitempty,"OS","Arch","Variant"}.
    /// </summary>
    public static string Exec(BuildKitExec exec, BuildKitPlatform platform)
    {
        var json = new GoJson().BeginObject()
            .Name("Type").String(ExecCacheType)
            .Name("Exec").BeginObject()
            .Name("meta").BeginObject();
        if (exec.Args.Count > 0) json.Name("args").Strings(exec.Args);
        if (exec.Env.Count > 0) json.Name("env").Strings(exec.Env);
        if (exec.Cwd.Length > 0) json.Name("cwd").String(exec.Cwd);
        if (exec.User.Length > 0) json.Name("user").String(exec.User);
        json.Name("removeMountStubsRecursive").Bool(true) // client/llb/exec.go always sets it
            .EndObject();
        if (exec.Network != 0) json.Name("network").Number(exec.Network);
        if (exec.Security != 0) json.Name("security").Number(exec.Security);
        json.EndObject()
            .Name("OS").String(platform.Os)
            .Name("Arch").String(platform.Architecture);
        if (platform.Variant.Length > 0) json.Name("Variant").String(platform.Variant);
        json.EndObject();
        return BuildKitDigest.Of(json.ToUtf8());
    }

    /// <summary>
    /// fileOp.CacheMap of COPY --from=stage with one source and no flags (dockerfile2llb's CopyInfo: FollowSymlinks,
    /// CopyDirContentsOnly, CreateDestPath, AllowWildcard, AllowEmptyWildcard; mode and timestamp unset, so -1). The
    /// cache map keeps only the source's base name; the full path becomes the selector of input 1.
    /// </summary>
    public static (string Digest, string SourceSelector) CopyFromStage(string source, string dest)
    {
        var action = new GoJson().BeginObject()
            .Name("src").String(GoBase(source))
            .Name("dest").String(dest)
            .Name("mode").Number(-1)
            .Name("followSymlink").Bool(true)
            .Name("dirCopyContents").Bool(true)
            .Name("createDestPath").Bool(true)
            .Name("allowWildcard").Bool(true)
            .Name("allowEmptyWildcard").Bool(true)
            .Name("timestamp").Number(-1)
            .EndObject();
        return (FileOp(action), BuildKitDigest.Selector(source));
    }

    /// <summary>
    /// COPY of one plain context path (no wildcard, no flags): the same file op as <see cref="CopyFromStage"/>, but BuildKit
    /// links input 1 (the local source, whose own key names the client's session) through the dep's content-based
    /// "slow" key: ComputeDigestFunc (opsutils.NewContentHashFunc) = sha256 of the path's contenthash checksum (one
    /// selector), exported as a root record <c>RootKey(key, -1)</c> linked with no selector (edge.go NewCacheKey(dgst, "", -1)).
    /// </summary>
    public static (string Digest, string ContextKey) CopyFromContext(string source, string dest, string contentChecksum) =>
        (CopyFromStage(source, dest).Digest, BuildKitDigest.Of(contentChecksum));

    /// <summary>The output index of a dep's content-based key (solver edge.go: NewCacheKey(dgst, "", -1)).</summary>
    public const int ContentKeyOutput = -1;

    // path.Base of a cleaned absolute path
    private static string GoBase(string path)
    {
        var trimmed = path.TrimEnd('/');
        return trimmed.Length == 0 ? "/" : trimmed[(trimmed.LastIndexOf('/') + 1)..];
    }

    private static string FileOp(GoJson action)
    {
        var json = new GoJson().BeginObject()
            .Name("Type").String(FileCacheType)
            .Name("Actions").BeginArray().String(Convert.ToBase64String(action.ToUtf8())).EndArray()
            .EndObject();
        return BuildKitDigest.Of(json.ToUtf8());
    }

    /// <summary>
    /// fileOp.CacheMap of WORKDIR's one mkdir action (llb.Mkdir(wd, 0755, WithParents(true)), no owner, no timestamp:
    /// marshalTime(nil) is -1). Actions are []byte, which Go's json writes in base64; the default indexes are left out.
    /// </summary>
    public static string Mkdir(string path, int mode, bool makeParents)
    {
        var action = new GoJson().BeginObject().Name("path").String(path);
        if (mode != 0) action.Name("mode").Number(mode);
        if (makeParents) action.Name("makeParents").Bool(true);
        action.Name("timestamp").Number(-1).EndObject();
        return FileOp(action);
    }
}
