namespace BuildFarm.Tests.Engine;

/// <summary>A clock that moves only when the test moves it: an entity then measures silence between the messages the
/// test sends, not the pauses a loaded machine puts between them.</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _ticks = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
