using System.Text;

namespace BuildFarm.Coordinator.Dockerfile.Syntax;

/// <summary>
/// BuildKit's parse-tree node. The root's <see cref="Children"/> are the instructions; an
/// instruction's <see cref="Value"/> is its keyword as written and its arguments are the
/// <see cref="Next"/> chain. ONBUILD's single argument node has the trigger instruction as its child.
/// </summary>
public sealed class Node
{
    private readonly List<Node> _children = [];
    private readonly List<Heredoc> _heredocs = [];

    public string Value { get; init; } = "";

    public Node? Next { get; internal set; }

    public IReadOnlyList<Node> Children => _children;

    public IReadOnlyList<Heredoc> Heredocs => _heredocs;

    /// <summary>The arguments were given in exec (JSON array) form.</summary>
    public bool IsJson { get; init; }

    /// <summary>The logical line (continuations joined) before it was split.</summary>
    public string Original { get; init; } = "";

    /// <summary>The <c>--flag[=value]</c> words, verbatim.</summary>
    public IReadOnlyList<string> Flags { get; init; } = [];

    /// <summary>1-based first line (0 for hand-built nodes).</summary>
    public int StartLine { get; internal set; }

    /// <summary>1-based last line, including continuation and heredoc body lines.</summary>
    public int EndLine { get; internal set; }

    /// <summary>1-based column where the instruction starts on <see cref="StartLine"/>.</summary>
    public int Column { get; internal set; }

    /// <summary>Comment lines directly above the instruction (text after '#', trimmed).</summary>
    public IReadOnlyList<string> PrevComment { get; init; } = [];

    /// <summary>The argument values of the <see cref="Next"/> chain.</summary>
    public IEnumerable<Node> Arguments
    {
        get
        {
            for (var n = Next; n != null; n = n.Next)
            {
                yield return n;
            }
        }
    }

    /// <summary>An instruction node with plain arguments (for tests and synthetic instructions).</summary>
    public static Node Create(string value, IEnumerable<string> args, bool isJson = false, IReadOnlyList<string>? flags = null)
    {
        var node = new Node { Value = value, IsJson = isJson, Flags = flags ?? [], Original = value + " " + string.Join(" ", args) };
        Node? prev = null;
        foreach (var arg in args)
        {
            var n = new Node { Value = arg };
            if (prev == null)
            {
                node.Next = n;
            }
            else
            {
                prev.Next = n;
            }
            prev = n;
        }
        return node;
    }

    internal void AddChild(Node child) => _children.Add(child);

    internal void AddHeredoc(Heredoc heredoc) => _heredocs.Add(heredoc);

    /// <summary>BuildKit's S-expression dump (<c>(run "echo hi")</c> per instruction; Go string quoting).</summary>
    public string Dump()
    {
        var sb = new StringBuilder();
        sb.Append(Value.ToLowerInvariant());
        if (Flags.Count > 0)
        {
            sb.Append(" [");
            sb.AppendJoin(' ', Flags.Select(GoQuote.Quote));
            sb.Append(']');
        }
        foreach (var child in _children)
        {
            sb.Append('(').Append(child.Dump()).Append(")\n");
        }
        for (var n = Next; n != null; n = n.Next)
        {
            sb.Append(' ');
            sb.Append(n._children.Count > 0 ? n.Dump() : GoQuote.Quote(n.Value));
        }
        return GoText.TrimSpace(sb.ToString());
    }
}
