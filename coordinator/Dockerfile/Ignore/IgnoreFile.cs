using BuildFarm.Coordinator.Dockerfile.Syntax;
using System.Text;

namespace BuildFarm.Coordinator.Dockerfile.Ignore;

/// <summary>
/// Reads a .dockerignore file as moby's ignorefile.ReadAll does: a UTF-8 BOM on the first line is dropped,
/// lines starting with '#' are comments, lines are trimmed and empty ones skipped, a leading '!' is kept and the
/// rest re-trimmed, the path is cleaned and one leading '/' removed (patterns are relative to the context).
/// </summary>
public static class IgnoreFile
{
    /// <summary>Go's bufio.Scanner limit; a longer line makes the whole file unreadable there too.</summary>
    public const int MaxLineLength = 64 * 1024;

    public static IReadOnlyList<string> ReadAll(string? text) =>
        ReadEntries(text, ".dockerignore").Select(e => e.Pattern).ToList();

    public static IReadOnlyList<IgnoreFileEntry> ReadEntries(string? text, string fileName)
    {
        var entries = new List<IgnoreFileEntry>();
        if (text is null)
            return entries;
        var lineNumber = 0;
        foreach (var rawLine in DirectiveParser.SplitLines(text))
        {
            var line = rawLine;
            if (lineNumber == 0 && line.StartsWith('\uFEFF'))
                line = line[1..];
            lineNumber++;
            if (Encoding.UTF8.GetByteCount(line) > MaxLineLength)
                throw new FormatException($"{fileName}:{lineNumber}:1: error reading .dockerignore: line longer than {MaxLineLength} bytes");
            if (line.StartsWith('#'))
                continue;
            var pattern = line.Trim();
            if (pattern.Length == 0)
                continue;
            var invert = pattern[0] == '!';
            if (invert)
                pattern = pattern[1..].Trim();
            if (pattern.Length > 0)
            {
                pattern = GoPath.Clean(pattern);
                if (pattern.Length > 1 && pattern[0] == '/')
                    pattern = pattern[1..];
            }
            if (invert)
                pattern = "!" + pattern;
            entries.Add(new IgnoreFileEntry(pattern, lineNumber));
        }
        return entries;
    }

    /// <summary>Compiles the entries of one file; a bad pattern is reported as file:line:column with the reason.</summary>
    public static PatternMatcher Compile(IReadOnlyList<IgnoreFileEntry> entries, string fileName)
    {
        foreach (var entry in entries)
        {
            try
            {
                // A pattern that passes the syntax check may still fail to compile (e.g. a reversed range).
                foreach (var p in PatternMatcher.Create([entry.Pattern]).Patterns)
                    p.IsMatch("");
            }
            catch (PatternSyntaxException e)
            {
                throw new PatternSyntaxException(entry.Pattern, $"{fileName}:{entry.Line}:1: invalid pattern \"{entry.Pattern}\": {e.Message}; expected a Go filepath.Match pattern");
            }
        }
        return PatternMatcher.Create(entries.Select(e => e.Pattern));
    }
}
