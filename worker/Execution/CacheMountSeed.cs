namespace BuildFarm.Worker.Execution;

/// <summary>
/// The input a cache mount starts from when it is first made (BuildKit: the mount's input ref, e.g. its from= stage).
/// <see cref="Identity"/> names that input: BuildKit keys a cache directory by id and input ref together
/// (<c>id + ":" + ref.ID()</c>), so the same id seeded from another stage, or not seeded, is another directory.
/// <see cref="FillAsync"/> writes the initial contents into a new, empty directory.
/// </summary>
public sealed record CacheMountSeed(string Identity, Func<string, CancellationToken, Task> FillAsync);
