using BuildFarm.Cli;

namespace BuildFarm.Tests.Cli;

public sealed class FailureLineTests
{
    [Fact]
    public void Failure_line_joins_causes_on_one_line_without_repeats()
    {
        var error = new InvalidOperationException("worker failed", new IOException("statx /x: Permission denied\nsecond line"));

        Assert.Equal("worker failed: statx /x: Permission denied second line", FailureLine.Of(error));
    }
}
