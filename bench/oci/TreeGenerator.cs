namespace BuildFarm.Bench.Oci;

/// <summary>
/// Makes a rootfs-like tree of a given total size: many small text-ish files, some mid-size ones, a few large
/// binaries; about a third of the bytes incompressible, the rest compressible like source and docs.
/// </summary>
public static class TreeGenerator
{
    private static readonly string[] Words =
        "the layer tar build image cache worker step digest manifest config index blob registry push pull of and to in is for with on"
            .Split(' ');

    public static long Generate(string root, long totalBytes, int seed = 1)
    {
        var random = new Random(seed);
        long written = 0;
        var fileNumber = 0;
        while (written < totalBytes)
        {
            var dir = Path.Combine(root, $"usr/lib/pkg{fileNumber / 200:D4}/sub{fileNumber % 7}");
            Directory.CreateDirectory(dir);
            var kind = fileNumber % 100;
            var size = kind switch
            {
                < 80 => random.Next(200, 16 * 1024),          // small sources, configs
                < 98 => random.Next(64 * 1024, 1024 * 1024),  // mid-size libraries
                _ => random.Next(8, 32) * 1024 * 1024,        // large binaries
            };
            size = (int)Math.Min(size, Math.Max(1, totalBytes - written));
            var bytes = new byte[size];
            if (kind % 3 == 0) random.NextBytes(bytes);
            else FillText(bytes, random);
            File.WriteAllBytes(Path.Combine(dir, $"file{fileNumber}.{(kind % 3 == 0 ? "bin" : "txt")}"), bytes);
            written += size;
            fileNumber++;
        }
        return written;
    }

    private static void FillText(byte[] bytes, Random random)
    {
        var i = 0;
        while (i < bytes.Length)
        {
            var word = Words[random.Next(Words.Length)];
            for (var j = 0; j < word.Length && i < bytes.Length; j++) bytes[i++] = (byte)word[j];
            if (i < bytes.Length) bytes[i++] = (byte)(random.Next(12) == 0 ? '\n' : ' ');
        }
    }
}
