using BuildFarm.Coordinator.Dockerfile.Shell;

namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// What an instruction's words expand with: the image env wins over the stage's ARGs, except an ARG declared after the
/// ENV of the same name (as BuildKit; an ARG without a value is not set). Looked up on demand rather than copied per instruction, which made large Dockerfiles plan in quadratic time.
/// </summary>
internal sealed class StageShellEnvironment(ImageEnvList env, IReadOnlyList<KeyValuePair<string, string?>> args,
    IReadOnlySet<string>? argsOverEnv = null) : IShellEnvironment
{
    private IReadOnlyList<string>? _keys;

    public bool TryGet(string name, out string value)
    {
        if ((argsOverEnv is null || !argsOverEnv.Contains(name)) && env.TryGet(name, out value))
            return true;
        foreach (var (k, v) in args)
        {
            if (k == name && v is not null)
            {
                value = v;
                return true;
            }
        }
        return env.TryGet(name, out value);
    }

    public IReadOnlyList<string> Keys => _keys ??= ImageEnv.MergeEnvAndArgs(args, env, argsOverEnv).Keys.ToArray();
}
