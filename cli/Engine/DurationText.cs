using System.Globalization;

namespace BuildFarm.Cli.Engine;

/// <summary>Durations as flags and variables write them: <c>90s</c>, <c>30m</c>, <c>2h</c>, or plain seconds.</summary>
public static class DurationText
{
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = default;
        text = text.Trim();
        if (text.Length == 0) return false;
        var (number, unit) = char.IsLetter(text[^1]) ? (text[..^1], text[^1]) : (text, 's');
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value <= 0 || double.IsInfinity(value))
            return false;
        var seconds = unit switch { 's' => value, 'm' => value * 60, 'h' => value * 3600, _ => -1 };
        if (seconds <= 0 || seconds > TimeSpan.MaxValue.TotalSeconds / 2) return false;
        duration = TimeSpan.FromSeconds(seconds);
        return true;
    }
}
