namespace BuildFarm.Cli;

/// <summary>
/// What one profile of the AWS shared files says about S3, read as the AWS CLI and SDKs read them: the credentials file
/// (<c>[NAME]</c> sections) before the config file (<c>[profile NAME]</c>, or <c>[default]</c>), keys
/// <c>aws_access_key_id</c>, <c>aws_secret_access_key</c>, <c>aws_session_token</c>, <c>region</c>, <c>endpoint_url</c>.
/// Indented lines (a service's sub-settings, <c>s3 =</c> followed by indented keys) are not the profile's own keys.
/// </summary>
public sealed record AwsProfile(string Name, string? AccessKeyId, string? SecretAccessKey, string? SessionToken, string? Region, string? EndpointUrl)
{
    /// <summary>Reads profile <paramref name="name"/> from both files (either may be absent). A profile a user named
    /// (<paramref name="named"/>: AWS_PROFILE is set) must exist in one of them; the default profile may be absent.</summary>
    public static AwsProfile Load(string name, bool named, string credentialsFile, string configFile)
    {
        var credentials = Section(credentialsFile, name);
        var config = Section(configFile, name == "default" ? "default" : $"profile {name}")
                     ?? (name == "default" ? Section(configFile, "profile default") : null);
        if (credentials is null && config is null && named)
            throw new FormatException($"AWS_PROFILE={name}: no such profile in {credentialsFile} ([{name}]) nor in {configFile} ([profile {name}])");
        string? Value(string key) => credentials?.GetValueOrDefault(key) ?? config?.GetValueOrDefault(key);
        return new AwsProfile(name, Value("aws_access_key_id"), Value("aws_secret_access_key"), Value("aws_session_token"),
            Value("region"), Value("endpoint_url"));
    }

    /// <summary>The keys of one section, or null when the file or the section does not exist.</summary>
    private static Dictionary<string, string>? Section(string path, string section)
    {
        if (!File.Exists(path)) return null;
        Dictionary<string, string>? found = null;
        var inSection = false;
        var number = 0;
        foreach (var raw in File.ReadLines(path))
        {
            number++;
            var line = raw.TrimEnd();
            var trimmed = line.TrimStart();
            if (trimmed.Length == 0 || trimmed[0] is '#' or ';') continue;
            if (trimmed[0] == '[')
            {
                if (!trimmed.EndsWith(']')) throw new FormatException($"{path}:{number}: a section header must end with ']': {trimmed}");
                inSection = trimmed[1..^1].Trim() == section;
                if (inSection) found ??= new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                continue;
            }
            if (!inSection || line.Length > trimmed.Length) continue; // another section's, or a nested service setting
            var eq = trimmed.IndexOf('=');
            if (eq <= 0) throw new FormatException($"{path}:{number}: expected 'key = value' in [{section}]");
            found![trimmed[..eq].Trim()] = trimmed[(eq + 1)..].Trim();
        }
        return found;
    }
}
