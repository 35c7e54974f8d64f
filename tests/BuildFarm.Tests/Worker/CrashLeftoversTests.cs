using BuildFarm.Worker.Snapshots;

namespace BuildFarm.Tests.Worker;

public sealed class CrashLeftoversTests
{
    [Theory]
    [InlineData("4242-0123456789abcdef01234567", 4242)]
    [InlineData("run-4242-0123456789abcdef", 4242)]
    [InlineData("bf-4242-a1b2c3-0123456789abcd", 4242)]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.tmp-4242-0123456789abcdef", 4242)]
    public void Owner_pid_is_read_from_the_name(string name, int pid) => Assert.Equal(pid, CrashLeftovers.OwnerOf(name));

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")] // an extracted layer
    [InlineData("4242")] // no separator: a name, not an owner
    [InlineData("run-0123456789abcdef")]
    [InlineData("bf-99999999-x")] // above the kernel's pid limit
    public void Names_without_an_owner_are_never_claimed(string name) => Assert.Null(CrashLeftovers.OwnerOf(name));

    [Fact]
    public void Only_entries_of_dead_owners_are_removed()
    {
        var dir = Directory.CreateTempSubdirectory("bf-crash").FullName;
        try
        {
            var deadPid = Enumerable.Range(3_000_000, 1000).First(p => !Directory.Exists($"/proc/{p}"));
            var dead = Directory.CreateDirectory(Path.Combine(dir, $"run-{deadPid}-abc")).FullName;
            File.WriteAllText(Path.Combine(dead, "hosts"), "x");
            var mine = Directory.CreateDirectory(Path.Combine(dir, $"run-{Environment.ProcessId}-abc")).FullName;
            var alive = Directory.CreateDirectory(Path.Combine(dir, "run-1-abc")).FullName; // init never dies
            var unowned = Directory.CreateDirectory(Path.Combine(dir, "cache-id")).FullName;

            Assert.Equal(1, CrashLeftovers.RemoveDeadOwners(dir));

            Assert.False(Directory.Exists(dead));
            Assert.True(Directory.Exists(mine) && Directory.Exists(alive) && Directory.Exists(unowned));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
