namespace BuildFarm.Coordinator.Dockerfile.Lint;

/// <summary>One of BuildKit's Dockerfile checks: its name, description and documentation link, as BuildKit's ruleset.go has them.</summary>
public sealed record LintRule(string Name, string Description, string Url, bool Experimental = false);
