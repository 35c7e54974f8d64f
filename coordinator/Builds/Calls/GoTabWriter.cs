using System.Text;

namespace BuildFarm.Coordinator.Builds.Calls;

/// <summary>
/// Go's <c>text/tabwriter</c> as BuildKit's printers use it (<c>NewWriter(w, 0, 0, padding, ' ', 0)</c>): a cell ends at
/// a tab, the cells of one column in adjacent lines are padded to the widest plus <paramref name="padding"/> (in runes),
/// and a line's last cell (after its last tab) is written as is, so an empty last cell leaves the padding behind.
/// </summary>
public sealed class GoTabWriter(int padding)
{
    private readonly List<string[]> _lines = [];

    public GoTabWriter Line(params string[] cells)
    {
        _lines.Add(cells);
        return this;
    }

    /// <summary>The aligned text; every line ends with '\n'.</summary>
    public string Format()
    {
        var widths = _lines.Select(l => new int[l.Length]).ToList();
        var columns = _lines.Count == 0 ? 0 : _lines.Max(l => l.Length);
        for (var column = 0; column < columns - 1; column++)
        {
            // a column block: adjacent lines that have a tab-terminated cell in this column
            for (var line = 0; line < _lines.Count;)
            {
                if (_lines[line].Length <= column + 1)
                {
                    line++;
                    continue;
                }
                var start = line;
                var width = 0;
                for (; line < _lines.Count && _lines[line].Length > column + 1; line++)
                    width = Math.Max(width, Runes(_lines[line][column]) + padding);
                for (var i = start; i < line; i++) widths[i][column] = width;
            }
        }
        var text = new StringBuilder();
        for (var line = 0; line < _lines.Count; line++)
        {
            var cells = _lines[line];
            for (var c = 0; c < cells.Length; c++)
            {
                text.Append(cells[c]);
                if (c < cells.Length - 1) text.Append(' ', widths[line][c] - Runes(cells[c]));
            }
            text.Append('\n');
        }
        return text.ToString();
    }

    private static int Runes(string text) => text.EnumerateRunes().Count();
}
