using System.Text;

namespace BuildFarm.Coordinator.Dockerfile.Shell;

/// <summary>Helpers that treat text as Unicode scalar values, as Go's rune-based code does.</summary>
internal static class RuneText
{
    public const int Eof = -1;

    public static int[] ToRunes(string s)
    {
        var result = new List<int>(s.Length);
        foreach (var rune in s.EnumerateRunes())
        {
            result.Add(rune.Value);
        }
        return result.ToArray();
    }

    public static string FromRunes(IEnumerable<int> runes)
    {
        var sb = new StringBuilder();
        foreach (var r in runes)
        {
            Append(sb, r);
        }
        return sb.ToString();
    }

    public static void Append(StringBuilder sb, int rune)
    {
        if (rune < 0 || rune > 0x10FFFF || (rune >= 0xD800 && rune <= 0xDFFF))
        {
            sb.Append('\uFFFD');
        }
        else if (rune < 0x10000)
        {
            sb.Append((char)rune);
        }
        else
        {
            sb.Append(char.ConvertFromUtf32(rune));
        }
    }

    /// <summary>Go's <c>unicode.IsSpace</c>.</summary>
    public static bool IsSpace(int r) => GoText.IsSpace(r);

    public static bool IsLetter(int r) => r >= 0 && r <= 0x10FFFF && !(r >= 0xD800 && r <= 0xDFFF) && Rune.IsLetter(new Rune(r));

    public static bool IsDigit(int r) => r >= 0 && r <= 0x10FFFF && !(r >= 0xD800 && r <= 0xDFFF) && Rune.IsDigit(new Rune(r));
}
