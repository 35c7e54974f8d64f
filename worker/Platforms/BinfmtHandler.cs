namespace BuildFarm.Worker.Platforms;

/// <summary>One /proc/sys/fs/binfmt_misc entry as the kernel prints it ("enabled", "interpreter …", "flags: OCF", …).</summary>
public sealed record BinfmtHandler(bool Enabled, string Interpreter, string Flags)
{
    public static BinfmtHandler Read(string path)
    {
        var lines = File.ReadAllLines(path);
        string Value(string prefix) => lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))?[prefix.Length..].Trim() ?? "";
        return new BinfmtHandler(lines.FirstOrDefault()?.Trim() == "enabled", Value("interpreter "), Value("flags:"));
    }
}
