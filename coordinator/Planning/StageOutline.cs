
namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// What one stage's planning saw for its outline, as BuildKit's outlineCapture: the ARGs it declared (over the global
/// ones), the args it used, and its secret and ssh mounts (the first mount of an id wins).
/// </summary>
internal sealed class StageOutline
{
    public Dictionary<string, OutlineArgInfo> Args { get; } = new(StringComparer.Ordinal);
    public HashSet<string> Used { get; } = new(StringComparer.Ordinal);
    public List<OutlineRequirement> Secrets { get; } = [];
    public List<OutlineRequirement> Ssh { get; } = [];

    public static void AddFirst(List<OutlineRequirement> list, OutlineRequirement requirement)
    {
        if (!list.Exists(r => r.Name == requirement.Name)) list.Add(requirement);
    }
}
