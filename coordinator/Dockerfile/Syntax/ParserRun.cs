using System.Text;

namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>One parse: the escape character and directive state change as the file is read.</summary>
internal sealed class ParserRun(string text, string fileName)
{
    private readonly DirectiveParser _directives = new();
    private readonly List<Directive> _found = [];
    private readonly LineScanner _scanner = new(text);
    private char _escape = DockerfileParser.DefaultEscapeToken;

    public ParseResult Parse()
    {
        var currentLine = 0;
        var root = new Node();
        var warnings = new List<ParseWarning>();
        List<string>? comments = null;
        while (_scanner.Scan(out var raw))
        {
            if (currentLine == 0 && raw.StartsWith('\uFEFF'))
            {
                raw = raw[1..];
            }
            if (IsComment(raw))
            {
                // BuildKit drops the line's first character, then trims (so "  # x" gives "# x").
                var comment = GoText.TrimSpace(raw[1..]);
                if (comment.Length == 0)
                {
                    comments = null;
                }
                else
                {
                    (comments ??= []).Add(comment);
                }
            }
            var (first, directiveOk) = ProcessLine(raw, true, currentLine + 1);
            if (directiveOk && comments is { Count: > 0 })
            {
                comments.RemoveAt(comments.Count - 1);
            }
            currentLine++;
            var startLine = currentLine;
            var column = 1 + raw.Length - GoText.TrimLeftSpace(raw).Length;

            var (content, isEndOfLine) = TrimContinuation(first);
            if (isEndOfLine && content.Length == 0)
            {
                continue;
            }
            var buf = new StringBuilder(content);
            var hasEmptyContinuationLine = false;
            while (!isEndOfLine && _scanner.Scan(out var next))
            {
                var (processed, _) = ProcessLine(next, false, currentLine + 1);
                currentLine++;
                if (IsComment(next))
                {
                    continue;
                }
                if (GoText.TrimLeftSpace(TrimNewline(processed)).Length == 0)
                {
                    hasEmptyContinuationLine = true;
                    continue;
                }
                (processed, isEndOfLine) = TrimContinuation(processed);
                buf.Append(processed);
            }
            var line = buf.ToString();
            if (hasEmptyContinuationLine)
            {
                warnings.Add(new ParseWarning(
                    "Empty continuation line found in: " + line,
                    ["Empty continuation lines will become errors in a future release"],
                    "https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/",
                    currentLine));
            }

            Node child;
            try
            {
                child = NewNodeFromLine(line, comments ?? []);
            }
            catch (DockerfileException e)
            {
                throw e.At(fileName, startLine, column, currentLine);
            }
            if (CanContainHeredoc(child) && line.Contains("<<", StringComparison.Ordinal))
            {
                IReadOnlyList<Heredoc> heredocs;
                try
                {
                    heredocs = HeredocParser.HeredocsFromLine(line);
                }
                catch (DockerfileException e)
                {
                    throw e.At(fileName, startLine, column, currentLine);
                }
                foreach (var heredoc in heredocs)
                {
                    var terminated = false;
                    var body = new StringBuilder();
                    while (_scanner.Scan(out var bodyLine))
                    {
                        currentLine++;
                        var candidate = TrimNewline(bodyLine);
                        if (heredoc.Chomp)
                        {
                            candidate = candidate.TrimStart('\t');
                        }
                        if (candidate == heredoc.Name)
                        {
                            terminated = true;
                            break;
                        }
                        body.Append(bodyLine);
                    }
                    if (!terminated)
                    {
                        throw new DockerfileException("unterminated heredoc", fileName, startLine, column, currentLine);
                    }
                    child.AddHeredoc(heredoc with { Content = body.ToString() });
                }
            }
            child.StartLine = startLine;
            child.EndLine = currentLine;
            child.Column = column;
            if (root.Children.Count == 0)
            {
                root.StartLine = startLine;
                root.Column = column;
            }
            root.EndLine = currentLine;
            root.AddChild(child);
            comments = null;
        }

        if (root.Children.Count == 0)
        {
            throw new DockerfileException("file with no instructions", fileName, currentLine);
        }
        if (_scanner.LineTooLong)
        {
            throw new DockerfileException(
                $"dockerfile line greater than max allowed size of {LineScanner.MaxTokenSize - 1}", fileName, currentLine + 1, 1);
        }
        return new ParseResult(root, _escape, warnings, fileName, _found);
    }

    /// <summary>
    /// ONBUILD nests instructions recursively; BuildKit rejects any nesting beyond one level later,
    /// so a small cap only keeps absurd input from exhausting the stack.
    /// </summary>
    private const int MaxNesting = 64;

    private Node NewNodeFromLine(string line, IReadOnlyList<string> comments, int depth = 0)
    {
        if (depth > MaxNesting)
        {
            throw new DockerfileException($"instructions nested more than {MaxNesting} levels deep");
        }
        var (command, flags, args) = CommandSplitter.Split(line, _escape);
        var parser = LineParsers.For(command);
        var (next, isJson) = parser(args, _escape, sub => NewNodeFromLine(sub, [], depth + 1));
        return new Node
        {
            Value = command,
            Original = line,
            Flags = flags,
            Next = next,
            IsJson = isJson,
            PrevComment = comments.ToArray(),
        };
    }

    private static bool CanContainHeredoc(Node node)
    {
        if (node.Value.Equals("onbuild", StringComparison.OrdinalIgnoreCase) && node.Next is { Children.Count: > 0 })
        {
            node = node.Next.Children[0];
        }
        var name = node.Value.ToLowerInvariant();
        return name is "add" or "copy" or "run" && !node.IsJson;
    }

    /// <summary>Strips the line ending (and, for a first line, leading space); handles directives; blanks comments.</summary>
    private (string Line, bool DirectiveOk) ProcessLine(string token, bool stripLeftWhitespace, int lineNumber)
    {
        token = TrimNewline(token);
        if (stripLeftWhitespace)
        {
            token = GoText.TrimLeftSpace(token);
        }
        bool directiveOk;
        try
        {
            var directive = _directives.ParseLine(token);
            if (directive is { Name: DirectiveParser.Escape })
            {
                if (directive.Value is not ("`" or "\\"))
                {
                    throw new DockerfileException($"invalid escape token '{directive.Value}' does not match ` or \\");
                }
                _escape = directive.Value[0];
            }
            directiveOk = directive != null;
            if (directive != null)
            {
                _found.Add(directive);
            }
        }
        catch (DockerfileException e)
        {
            throw e.At(fileName, lineNumber, 1);
        }
        return (IsComment(token) ? "" : token, directiveOk);
    }

    /// <summary>
    /// A trailing escape character (optionally followed by spaces/tabs) continues the line,
    /// unless it is itself escaped. Returns the line without it and whether the line ended.
    /// </summary>
    private (string Line, bool IsEndOfLine) TrimContinuation(string line)
    {
        var end = line.Length;
        while (end > 0 && line[end - 1] is ' ' or '\t')
        {
            end--;
        }
        if (end == 0 || line[end - 1] != _escape)
        {
            return (line, true);
        }
        var escapeAt = end - 1;
        if (escapeAt == 0)
        {
            return ("", false);
        }
        if (line[escapeAt - 1] == _escape)
        {
            return (line, true);
        }
        return (line[..escapeAt], false);
    }

    private static bool IsComment(string line)
    {
        var trimmed = GoText.TrimLeftSpace(line);
        return trimmed.Length > 0 && trimmed[0] == '#';
    }

    private static string TrimNewline(string s) => s.TrimEnd('\r', '\n');
}
