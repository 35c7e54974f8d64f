using System.Text;

namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>One CSV record (as <c>--mount</c>/<c>--device</c> values are written): ',' separated, "..." quoting with "" for a quote.</summary>
internal static class CsvFields
{
    public static List<string> Parse(string value, string errorPrefix)
    {
        var fields = new List<string>();
        var i = 0;
        while (true)
        {
            var sb = new StringBuilder();
            if (i < value.Length && value[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= value.Length)
                    {
                        throw new DockerfileException($"{errorPrefix}: extraneous or missing \" in quoted-field");
                    }
                    if (value[i] == '"')
                    {
                        if (i + 1 < value.Length && value[i + 1] == '"')
                        {
                            sb.Append('"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    sb.Append(value[i++]);
                }
                if (i < value.Length && value[i] != ',')
                {
                    throw new DockerfileException($"{errorPrefix}: extraneous or missing \" in quoted-field");
                }
            }
            else
            {
                while (i < value.Length && value[i] != ',')
                {
                    if (value[i] == '"')
                    {
                        throw new DockerfileException($"{errorPrefix}: bare \" in non-quoted-field");
                    }
                    sb.Append(value[i++]);
                }
            }
            fields.Add(sb.ToString());
            if (i >= value.Length)
            {
                return fields;
            }
            i++; // the comma
        }
    }
}
