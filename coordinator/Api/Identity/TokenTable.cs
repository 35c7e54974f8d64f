using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace BuildFarm.Coordinator.Api.Identity;

/// <summary>
/// Bearer tokens → teams, parsed from the tokens file. One token per line: <c>TOKEN TEAM</c>, or <c>TOKEN TEAM admin</c>
/// for a token that sees and cancels every team's builds and images and may measure and prune the shared cache; blank lines and lines starting with <c>#</c> are ignored.
/// A token is 16 to 512 printable ASCII characters without spaces; a team is 1 to 63 of <c>a-z 0-9 . _ -</c>,
/// starting with a letter or digit. Tokens are kept as SHA-256 digests, so a lookup takes the same time however much of
/// a guess matches.
/// </summary>
public sealed partial class TokenTable
{
    public const int MinTokenLength = 16;
    private readonly Dictionary<string, Caller> _byDigest;

    private TokenTable(Dictionary<string, Caller> byDigest) => _byDigest = byDigest;

    public int Count => _byDigest.Count;

    /// <summary>The caller a token names; null for an unknown token.</summary>
    public Caller? Find(string token) => _byDigest.GetValueOrDefault(DigestOf(token));

    /// <param name="source">The file's name, for messages.</param>
    public static TokenTable Parse(string text, string source)
    {
        var byDigest = new Dictionary<string, Caller>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r').Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            var where = $"{source}:{lineNumber}";
            if (fields.Length is < 2 or > 3)
                throw new TokenTableException($"{where}: expected \"TOKEN TEAM\" or \"TOKEN TEAM admin\", got {fields.Length} fields");
            var (token, team) = (fields[0], fields[1]);
            if (token.Length is < MinTokenLength or > 512 || token.Any(c => c is < '!' or > '~'))
                throw new TokenTableException($"{where}: a token must be {MinTokenLength} to 512 printable ASCII characters (this one has {token.Length})");
            if (!TeamName().IsMatch(team))
                throw new TokenTableException($"{where}: team \"{team}\": expected 1 to 63 of a-z 0-9 . _ - starting with a letter or digit");
            if (fields.Length == 3 && fields[2] != "admin")
                throw new TokenTableException($"{where}: unknown marker \"{fields[2]}\" (the only one is admin)");
            if (!byDigest.TryAdd(DigestOf(token), new Caller(team, IsAdmin: fields.Length == 3)))
                throw new TokenTableException($"{where}: this token is already given on an earlier line");
        }
        return new TokenTable(byDigest);
    }

    private static string DigestOf(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}$")]
    private static partial Regex TeamName();
}
