using BuildFarm.Worker.FileOps;

namespace BuildFarm.Tests.Worker;

/// <summary>--chmod as the worker applies it: octal as is, symbolic relative to each entry's own mode (no umask).</summary>
public sealed class ChmodSpecTests
{
    [Theory]
    [InlineData("755", 0x1A4u, false, 0x1EDu)]           // 0644 -> 0755
    [InlineData("u=rwx,go=rx", 0x180u, false, 0x1EDu)]   // 0600 -> 0755
    [InlineData("go-r", 0x1A4u, false, 0x180u)]          // 0644 -> 0600
    [InlineData("a+X", 0x1A4u, false, 0x1A4u)]           // a file with no x bit keeps 0644
    [InlineData("a+X", 0x1A4u, true, 0x1EDu)]            // a directory gets x: 0755
    [InlineData("a+X", 0x1E4u, false, 0x1EDu)]           // a file with u+x gets x for all: 0744 -> 0755
    [InlineData("u+s,o+t", 0x1EDu, true, 0xBEDu)]        // 0755 -> 5755
    [InlineData("+x", 0x1A4u, false, 0x1EDu)]            // no who: everyone
    public void Chmod_applies_to_the_entry_mode(string spec, uint current, bool isDirectory, uint expected) =>
        Assert.Equal(Convert.ToString(expected, 8), Convert.ToString(ChmodSpec.Parse(spec).Apply(current, isDirectory), 8));

    [Theory]
    [InlineData("17777")]
    [InlineData("u+q")]
    [InlineData("x=r")]
    public void Invalid_chmod_is_a_copy_error_naming_it(string spec) =>
        Assert.Contains(spec, Assert.Throws<CopyException>(() => ChmodSpec.Parse(spec)).Message);
}
