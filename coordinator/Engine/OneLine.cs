namespace BuildFarm.Coordinator.Engine;

/// <summary>An exception as one line: its message and its causes' messages when they add something; no stack.</summary>
public static class OneLine
{
    public static string Of(Exception error)
    {
        if (error is AggregateException { InnerExceptions.Count: 1 } single) error = single.InnerExceptions[0];
        var parts = new List<string>();
        for (var e = error; e is not null && parts.Count < 4; e = e.InnerException)
        {
            var message = e.Message.ReplaceLineEndings(" ").Trim();
            if (message.Length > 0 && !parts.Any(p => p.Contains(message, StringComparison.Ordinal))) parts.Add(message);
        }
        return parts.Count == 0 ? error.GetType().Name : string.Join(": ", parts);
    }
}
