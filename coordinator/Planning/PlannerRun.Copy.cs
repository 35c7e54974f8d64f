using System.Text.Json.Nodes;
using BuildFarm.Coordinator.Dockerfile.Instructions;

namespace BuildFarm.Coordinator.Planning;

/// <summary>COPY and ADD: context selections, --from sources, the file flags of the key (BuildKit's dispatchCopy).</summary>
internal sealed partial class PlannerRun
{
    private void PlanCopy(StageState state, CopyInstruction copy, Func<string, string> word, Func<string, string> raw)
    {
        var location = copy.Location;
        var expanded = ((CopyInstruction)Expand(() => copy.Expand(word), location)).ExpandContents(raw);
        foreach (var src in expanded.SourcePaths)
        {
            if (IsUrl(src) || IsGit(src))
                throw Error("source can't be a URL for COPY", location);
        }

        ValidateChmod(expanded.Chmod, location);
        var flags = CommonFileFlags(expanded.Chown, expanded.Chmod, expanded.Link, expanded.ExcludePatterns);
        if (expanded.Parents)
            flags["parents"] = "true";

        var sources = new List<StepSource>();
        var selections = new List<ContextSelection>();
        if (copy.From.Length > 0)
        {
            // ONBUILD triggers were not seen when the stage graph was built: resolve their --from now.
            var reference = _fromReferences.TryGetValue(copy, out var known) ? known : ResolveCopyFrom(copy);
            if (reference.StageIndex is { } from && from >= state.Index)
                throw Error($"cannot copy from stage \"{copy.From}\", it needs to be defined before current stage \"{state.DisplayName}\"", location);
            sources.Add(ToSource(reference, location));
        }
        else if (expanded.SourcePaths.Count > 0)
            selections.Add(new ContextSelection(expanded.SourcePaths, expanded.ExcludePatterns, expanded.Parents));

        FileStep(state, StepKind.Copy, copy, expanded, "COPY", expanded.SourcePaths, expanded.SourceContents, expanded.DestPath, flags, sources, selections);
    }

    private void PlanAdd(StageState state, AddInstruction add, Func<string, string> word, Func<string, string> raw)
    {
        var location = add.Location;
        var expanded = ((AddInstruction)Expand(() => add.Expand(word), location)).ExpandContents(raw);
        ValidateChmod(expanded.Chmod, location);
        foreach (var src in expanded.SourcePaths.Where(IsGit))
        {
            try
            {
                GitSource.Parse(src);
            }
            catch (FormatException e)
            {
                throw Error(e.Message, location);
            }
        }
        var flags = CommonFileFlags(expanded.Chown, expanded.Chmod, expanded.Link, expanded.ExcludePatterns);
        if (expanded.Checksum.Length > 0)
        {
            // BuildKit verifies --checksum only for HTTP sources and refuses it for anything else.
            if (expanded.SourcePaths.Any(s => !IsUrl(s) || IsGit(s)))
                throw Error("checksum can't be specified for non-HTTP sources", location);
            flags["checksum"] = expanded.Checksum;
        }
        if (expanded.KeepGitDir is { } keep)
            flags["keep-git-dir"] = keep ? "true" : "false";
        if (expanded.Unpack is { } unpack)
            flags["unpack"] = unpack ? "true" : "false";

        // URLs and git sources are fetched by the worker; only local paths come from the context.
        var local = expanded.SourcePaths.Where(s => !IsUrl(s) && !IsGit(s)).ToArray();
        var selections = new List<ContextSelection>();
        if (local.Length > 0)
            selections.Add(new ContextSelection(local, expanded.ExcludePatterns));

        FileStep(state, StepKind.Add, add, expanded, "ADD", expanded.SourcePaths, expanded.SourceContents, expanded.DestPath, flags, [], selections);
    }

    private void FileStep(StageState state, StepKind kind, Instruction original, Instruction expanded, string keyword,
        IReadOnlyList<string> paths, IReadOnlyList<SourceContent> contents, string dest, Dictionary<string, string> flags,
        List<StepSource> sources, List<ContextSelection> selections)
    {
        // A heredoc becomes a file named by its delimiter: BuildKit fails such a name with a path error at solve time.
        foreach (var content in contents)
        {
            if (content.Path is "" or "." or ".." || content.Path.Contains('/'))
                throw Error($"{keyword} <<{content.Path}: a heredoc's delimiter names the file it writes and must be a plain file name", original.Location);
        }
        // A relative destination is relative to WORKDIR, which the parent chain already fixes; the text stays as written.
        var text = keyword + " " + Json(paths.Append(dest));
        if (contents.Count > 0)
            text += " " + JsonObjects(contents.Select(c => new JsonObject { ["path"] = c.Path, ["data"] = c.Data }));
        AddStep(state, NextStep(state, kind, original, expanded, text, state.Config) with
        {
            DependsOn = sources.Where(s => s.StepId is not null).Select(s => s.StepId!).Distinct().ToArray(),
            Flags = flags,
            Sources = sources,
            ContextSelections = selections,
        });
    }

    /// <summary>--chmod is an octal mode of at most 7777 or a symbolic mode (u=rwx,go=rx; a+X; go-r), as BuildKit
    /// accepts: anything else is the Dockerfile's error, caught here with its line rather than by the worker.</summary>
    private void ValidateChmod(string chmod, SourceLocation location)
    {
        if (chmod.Length == 0) return;
        var octal = chmod.Length <= 5 && chmod.All(c => c is >= '0' and <= '7');
        if (octal ? Convert.ToUInt32(chmod, 8) > 0b111_111_111_111 : !SymbolicChmod().IsMatch(chmod))
            throw Error($"invalid chmod parameter: {chmod}: expected an octal mode from 0 to 7777 or a symbolic mode such as u=rwx,go=rx", location);
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[ugoa]*([-+=][rwxXst]*)+(,[ugoa]*([-+=][rwxXst]*)+)*$")]
    private static partial System.Text.RegularExpressions.Regex SymbolicChmod();

    private static Dictionary<string, string> CommonFileFlags(string chown, string chmod, bool link, IReadOnlyList<string> excludes)
    {
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        if (chown.Length > 0)
            flags["chown"] = chown;
        if (chmod.Length > 0)
            flags["chmod"] = chmod;
        if (link)
            flags["link"] = "true";
        if (excludes.Count > 0)
            flags["exclude"] = Json(excludes);
        return flags;
    }

    private static bool IsUrl(string source) =>
        source.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || source.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    private static bool IsGit(string source) => GitSource.IsGit(source);
}
