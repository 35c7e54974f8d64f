using System.Text.RegularExpressions;

namespace BuildFarm.Worker.FileOps;

/// <summary>
/// A COPY/ADD <c>--chmod</c>: an octal mode (0..7777) set as is, or a symbolic one (<c>u=rwx,go=rx</c>, <c>a+X</c>,
/// <c>go-r</c>) applied to each entry's own mode as chmod(1) does without a umask, as BuildKit accepts it.
/// </summary>
public sealed partial class ChmodSpec
{
    private readonly uint? _octal;
    private readonly IReadOnlyList<(uint Who, char Op, string Perms)> _clauses;

    private ChmodSpec(uint? octal, IReadOnlyList<(uint, char, string)> clauses) => (_octal, _clauses) = (octal, clauses);

    public static bool IsValid(string text) => OctalPattern().IsMatch(text) && Convert.ToUInt32(text, 8) <= 0xFFF || SymbolicPattern().IsMatch(text);

    public static ChmodSpec Parse(string text)
    {
        if (OctalPattern().IsMatch(text))
        {
            var mode = Convert.ToUInt32(text, 8);
            if (mode > 0xFFF) throw new CopyException($"invalid chmod parameter: {text}: expected an octal mode from 0 to 7777 or a symbolic mode");
            return new ChmodSpec(mode, []);
        }
        if (!SymbolicPattern().IsMatch(text))
            throw new CopyException($"invalid chmod parameter: {text}: expected an octal mode from 0 to 7777 or a symbolic mode");
        var clauses = new List<(uint, char, string)>();
        foreach (var clause in text.Split(','))
        {
            var who = 0u;
            var i = 0;
            for (; i < clause.Length && clause[i] is 'u' or 'g' or 'o' or 'a'; i++)
                who |= clause[i] switch { 'u' => 0x9C0u /* 4700 */, 'g' => 0x438u /* 2070 */, 'o' => 0x207u /* 1007 */, _ => 0xFFFu };
            if (who == 0) who = 0xFFF; // no who: everyone (no umask in a build)
            foreach (Match op in OperationPattern().Matches(clause[i..]))
                clauses.Add((who, op.Groups[1].Value[0], op.Groups[2].Value));
        }
        return new ChmodSpec(null, clauses);
    }

    /// <summary>The mode an entry whose mode is <paramref name="current"/> gets.</summary>
    public uint Apply(uint current, bool isDirectory)
    {
        if (_octal is { } octal) return octal;
        var mode = current & 0xFFF;
        foreach (var (who, op, perms) in _clauses)
        {
            var bits = 0u;
            foreach (var p in perms)
            {
                bits |= p switch
                {
                    'r' => 0b100_100_100u,
                    'w' => 0b010_010_010u,
                    'x' => 0b001_001_001u,
                    'X' => isDirectory || (mode & 0b001_001_001) != 0 ? 0b001_001_001u : 0,
                    's' => 0xC00u,
                    't' => 0x200u,
                    _ => 0,
                };
            }
            // who is a mask: each class's rwx plus its setuid/setgid bit, sticky with "o"/"a"
            var mask = who;
            bits &= mask;
            mode = op switch
            {
                '+' => mode | bits,
                '-' => mode & ~bits,
                _ => (mode & ~(mask & 0xFFF)) | bits,
            };
        }
        return mode;
    }

    [GeneratedRegex("^[0-7]{1,5}$")]
    private static partial Regex OctalPattern();

    [GeneratedRegex("^[ugoa]*([-+=][rwxXst]*)+(,[ugoa]*([-+=][rwxXst]*)+)*$")]
    private static partial Regex SymbolicPattern();

    [GeneratedRegex("([-+=])([rwxXst]*)")]
    private static partial Regex OperationPattern();
}
