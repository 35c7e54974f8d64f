using BuildFarm.Coordinator.Dockerfile.Instructions;

namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// What a target asks of its caller, as BuildKit's dockerfile frontend answers <c>--call=outline</c>
/// (dockerfile2llb/outline.go): the target stage's name and doc comment, the build args the target and the stages it
/// needs read (with their values and doc comments), and the secrets and ssh agents their RUN steps mount. Each list is
/// in source order.
/// </summary>
public sealed record PlanOutline(
    string Name,
    string Description,
    IReadOnlyList<OutlineArg> Args,
    IReadOnlyList<OutlineRequirement> Secrets,
    IReadOnlyList<OutlineRequirement> Ssh)
{
    public static PlanOutline Empty { get; } = new("", "", [], [], []);
}
