using System.Globalization;

namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>Go's strconv/time parsing rules where Dockerfile semantics depend on them.</summary>
internal static class GoParse
{
    /// <summary><c>strconv.ParseBool</c>: 1 t T TRUE true True / 0 f F FALSE false False; otherwise null.</summary>
    public static bool? Bool(string s) => s switch
    {
        "1" or "t" or "T" or "TRUE" or "true" or "True" => true,
        "0" or "f" or "F" or "FALSE" or "false" or "False" => false,
        _ => null,
    };

    /// <summary><c>strconv.ParseUint(s, base, 32)</c>; null on syntax error or overflow.</summary>
    public static uint? UInt32(string s, int numberBase)
    {
        if (s.Length == 0)
        {
            return null;
        }
        ulong value = 0;
        foreach (var c in s)
        {
            var digit = c is >= '0' and <= '9' ? c - '0' : -1;
            if (c == '_' || digit < 0 || digit >= numberBase)
            {
                return null;
            }
            value = value * (ulong)numberBase + (ulong)digit;
            if (value > uint.MaxValue)
            {
                return null;
            }
        }
        return (uint)value;
    }

    /// <summary><c>strconv.ParseInt(s, 10, 32)</c>; null on error.</summary>
    public static int? Int32(string s)
    {
        if (s.Length == 0)
        {
            return null;
        }
        var negative = false;
        var body = s;
        if (s[0] is '+' or '-')
        {
            negative = s[0] == '-';
            body = s[1..];
        }
        var magnitude = UInt32(body, 10);
        if (magnitude == null)
        {
            return null;
        }
        long v = negative ? -(long)magnitude.Value : magnitude.Value;
        return v is < int.MinValue or > int.MaxValue ? null : (int)v;
    }

    /// <summary>Go's <c>time.ParseDuration</c> in nanoseconds; null when invalid or out of range.</summary>
    public static long? DurationNanos(string s)
    {
        var negative = false;
        if (s.Length > 0 && s[0] is '-' or '+')
        {
            negative = s[0] == '-';
            s = s[1..];
        }
        if (s == "0")
        {
            return 0;
        }
        if (s.Length == 0)
        {
            return null;
        }
        decimal total = 0;
        while (s.Length > 0)
        {
            var i = 0;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                i++;
            }
            var intPart = s[..i];
            s = s[i..];
            var fracPart = "";
            if (s.Length > 0 && s[0] == '.')
            {
                s = s[1..];
                i = 0;
                while (i < s.Length && char.IsAsciiDigit(s[i]))
                {
                    i++;
                }
                fracPart = s[..i];
                s = s[i..];
                if (intPart.Length == 0 && fracPart.Length == 0)
                {
                    return null;
                }
            }
            else if (intPart.Length == 0)
            {
                return null;
            }
            i = 0;
            while (i < s.Length && s[i] != '.' && !char.IsAsciiDigit(s[i]))
            {
                i++;
            }
            if (i == 0)
            {
                return null; // missing unit
            }
            var unit = s[..i];
            s = s[i..];
            decimal scale = unit switch
            {
                "ns" => 1m,
                "us" or "\u00b5s" or "\u03bcs" => 1_000m,
                "ms" => 1_000_000m,
                "s" => 1_000_000_000m,
                "m" => 60_000_000_000m,
                "h" => 3_600_000_000_000m,
                _ => -1m,
            };
            if (scale < 0 || intPart.Length > 25 || fracPart.Length > 25)
            {
                return null;
            }
            var number = decimal.Parse(intPart.Length == 0 ? "0" : intPart, CultureInfo.InvariantCulture);
            if (fracPart.Length > 0)
            {
                number += decimal.Parse("0." + fracPart, CultureInfo.InvariantCulture);
            }
            if (number > long.MaxValue / scale)
            {
                return null;
            }
            total += number * scale;
            if (total > long.MaxValue)
            {
                return null;
            }
        }
        var nanos = (long)decimal.Truncate(total);
        return negative ? -nanos : nanos;
    }
}
