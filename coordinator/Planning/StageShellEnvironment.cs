using BuildFarm.Coordinator.Dockerfile.Shell;

namespace BuildFarm.Coordinator.Planning;

/// <summary>
/// What an instruction's words expand with: the image env wins over the stage's ARGs (an ARG without a value is not
/// set). Looked up on demand rather than copied per instruction, which made large Dockerfiles plan in quadratic time.
/// </summary>
internal sealed class StageShellEnvironment(ImageEnvList env, IReadOnlyList<KeyValuePair<string, string?>> args) : IShellEnvironment
{
    private IReadOnlyList<string>? _keys;

    public bool TryGet(string name, out string value)
    {
        if (env.TryGet(name, out value))
            return true;
        foreach (var (k, v) in args)
        {
            if (k == name && v is not null)
            {
                value = v;
                return true;
            }
        }
        value = "";
        return false;
    }

    public IReadOnlyList<string> Keys => _keys ??= ImageEnv.MergeEnvAndArgs(args, env).Keys.ToArray();
}
