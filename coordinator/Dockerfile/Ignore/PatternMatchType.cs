
namespace BuildFarm.Coordinator.Dockerfile.Ignore;

/// <summary>How patternmatcher classifies a pattern; the class changes what it matches (e.g. "**file" is a suffix test).</summary>
public enum PatternMatchType
{
    Exact,
    Prefix,
    Suffix,
    Regexp,
}
