
namespace BuildFarm.Coordinator.Dockerfile.Ignore;

internal enum PatternTokenKind
{
    /// <summary>One literal rune.</summary>
    Literal,
    /// <summary><c>[^/]*</c> (from <c>*</c>).</summary>
    NotSlashRun,
    /// <summary><c>[^/]</c> (from <c>?</c>).</summary>
    NotSlashOne,
    /// <summary><c>(.*/)?</c> (from <c>**</c> not at the end).</summary>
    OptionalDirs,
    /// <summary><c>.*</c> (from a trailing <c>**</c>).</summary>
    AnyRun,
    /// <summary>A bracket class.</summary>
    Class,
}
