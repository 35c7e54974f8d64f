using System.Text;

namespace BuildFarm.Oci.Registry;

/// <summary>A parsed <c>WWW-Authenticate</c> challenge: scheme (Basic/Bearer) and its parameters (realm, service, scope).</summary>
public sealed record AuthChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
{
    public bool IsBearer => Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase);
    public bool IsBasic => Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase);
    public string? Realm => Parameters.GetValueOrDefault("realm");
    public string? Service => Parameters.GetValueOrDefault("service");
    public string? Scope => Parameters.GetValueOrDefault("scope");

    /// <summary>Parses one challenge's parameter list: <c>realm="…",service="…",scope="a b"</c> (quoted-string escapes honored).</summary>
    public static AuthChallenge Parse(string scheme, string? parameters)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var s = parameters ?? "";
        var i = 0;
        while (i < s.Length)
        {
            while (i < s.Length && (s[i] == ',' || char.IsWhiteSpace(s[i]))) i++;
            var keyStart = i;
            while (i < s.Length && s[i] != '=' && s[i] != ',') i++;
            var key = s[keyStart..i].Trim();
            if (i >= s.Length || s[i] != '=')
            {
                if (key.Length > 0) result[key] = "";
                continue;
            }
            i++; // '='
            var value = new StringBuilder();
            if (i < s.Length && s[i] == '"')
            {
                i++;
                while (i < s.Length && s[i] != '"')
                {
                    if (s[i] == '\\' && i + 1 < s.Length) i++;
                    value.Append(s[i++]);
                }
                i++; // closing quote
            }
            else
            {
                while (i < s.Length && s[i] != ',') value.Append(s[i++]);
            }
            if (key.Length > 0) result[key] = value.ToString().Trim();
        }
        return new AuthChallenge(scheme, result);
    }
}
