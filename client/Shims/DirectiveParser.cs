namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>The one member of coordinator's <c>DirectiveParser</c> the linked ignore-file reader uses (the rest of the
/// Dockerfile parser is not part of the client); keep it in step with coordinator/Dockerfile/Syntax/DirectiveParser.cs.</summary>
internal static class DirectiveParser
{
    /// <summary>Lines without their "\n" (and one trailing "\r"), as Go's bufio.ScanLines gives them.</summary>
    internal static IEnumerable<string> SplitLines(string text)
    {
        var start = 0;
        while (start < text.Length)
        {
            var nl = text.IndexOf('\n', start);
            var end = nl < 0 ? text.Length : nl;
            var line = text[start..end];
            if (line.EndsWith('\r')) line = line[..^1];
            yield return line;
            start = nl < 0 ? text.Length : nl + 1;
        }
    }
}
