
namespace BuildFarm.Coordinator.Dockerfile.Ignore;

/// <summary>One element of a compiled ignore pattern, the equivalent of a piece of patternmatcher's regexp.</summary>
internal readonly record struct PatternToken(PatternTokenKind Kind, int Rune = 0, CharClass? Class = null);
