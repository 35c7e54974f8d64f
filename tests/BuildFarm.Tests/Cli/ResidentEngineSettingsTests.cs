using System.Collections;
using BuildFarm.Cli;
using BuildFarm.Cli.Commands;
using BuildFarm.Cli.Engine;

namespace BuildFarm.Tests.Cli;

public class ResidentEngineSettingsTests
{
    [Theory]
    [InlineData("90s", 90)]
    [InlineData("30m", 1800)]
    [InlineData("2h", 7200)]
    [InlineData("0.5s", 0.5)]
    [InlineData("45", 45)]
    public void Idle_timeouts_read_as_seconds_minutes_or_hours(string text, double seconds)
    {
        Assert.True(DurationText.TryParse(text, out var duration));
        Assert.Equal(TimeSpan.FromSeconds(seconds), duration);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0s")]
    [InlineData("-5m")]
    [InlineData("10d")]
    [InlineData("m")]
    [InlineData("soon")]
    public void Idle_timeouts_that_are_not_a_positive_duration_are_refused(string text)
    {
        Assert.False(DurationText.TryParse(text, out _));
    }

    [Fact]
    public void Build_runs_through_the_resident_engine_unless_BUILDFARM_ENGINE_says_embedded()
    {
        Assert.Equal(EngineMode.Resident, CliEnvironment.From(new Hashtable()).EngineMode);
        Assert.Equal(EngineMode.Embedded, CliEnvironment.From(new Hashtable { ["BUILDFARM_ENGINE"] = "embedded" }).EngineMode);
        var bad = Assert.Throws<UsageException>(() => CliEnvironment.From(new Hashtable { ["BUILDFARM_ENGINE"] = "remote" }));
        Assert.Equal("BUILDFARM_ENGINE=remote: expected resident or embedded", bad.Message);
    }

    [Fact]
    public void Engine_record_round_trips_and_a_torn_record_reads_as_none()
    {
        using var dir = new BuildFarm.TestSupport.TempDirectory();
        var path = Path.Combine(dir.Path, "engine.json");
        var record = new EngineRecord(4242, "1.0.0+abc", "/home/u/.buildfarm/engine.sock", DateTimeOffset.Parse("2026-12-05T05:15:10Z"));

        record.Write(path);
        Assert.Equal(record, EngineRecord.Read(path));
        Assert.Contains("\"pid\": 4242", File.ReadAllText(path));

        File.WriteAllText(path, "{\"pid\": 42, \"vers");
        Assert.Null(EngineRecord.Read(path));
    }

    [Fact]
    public void A_record_is_removed_only_by_the_engine_it_names()
    {
        using var dir = new BuildFarm.TestSupport.TempDirectory();
        var path = Path.Combine(dir.Path, "engine.json");
        new EngineRecord(4242, "v", "/s", DateTimeOffset.UtcNow).Write(path);

        EngineRecord.DeleteIfOwnedBy(path, 1111);
        Assert.True(File.Exists(path));
        EngineRecord.DeleteIfOwnedBy(path, 4242);
        Assert.False(File.Exists(path));
    }
}
