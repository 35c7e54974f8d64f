namespace BuildFarm.Cli.Engine;

/// <summary><c>serve --socket PATH [--idle-timeout D]</c>: the resident engine's socket, and how long it may stay
/// unused before it stops (null: never).</summary>
public sealed record ResidentServeOptions(string Socket, TimeSpan? IdleTimeout);
