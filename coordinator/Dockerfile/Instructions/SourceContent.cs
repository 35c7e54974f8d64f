namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>An inline COPY/ADD source from a heredoc: file name, body (already tab-chomped for <c>&lt;&lt;-</c>), whether to expand it.</summary>
public sealed record SourceContent(string Path, string Data, bool Expand);
