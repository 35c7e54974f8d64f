namespace BuildFarm.Cli.Formatting;

/// <summary>Ages as docker prints them in tables ("3 minutes", "2 days").</summary>
public static class HumanTime
{
    public static string Since(DateTimeOffset time)
    {
        var age = DateTimeOffset.UtcNow - time;
        return age.TotalMinutes < 1 ? $"{Math.Max(1, (int)age.TotalSeconds)} seconds"
            : age.TotalHours < 1 ? $"{(int)age.TotalMinutes} minutes"
            : age.TotalDays < 1 ? $"{(int)age.TotalHours} hours"
            : age.TotalDays < 365 ? $"{(int)age.TotalDays} days"
            : $"{(int)(age.TotalDays / 365)} years";
    }

    public static string Ago(DateTimeOffset time) => Since(time) + " ago";
}
