namespace BuildFarm.Coordinator.Builds.Calls;

/// <summary>
/// The answer to <c>--call=outline|targets</c>, as BuildKit's frontend returns it: <see cref="Json"/> (result.json,
/// printed by <c>format=json</c>) and <see cref="Text"/> (result.txt, buildx's table).
/// </summary>
public sealed record CallResult(string Json, string Text);
