namespace BuildFarm.Coordinator.Images;

/// <summary>One history entry of an image, newest first as docker prints them: the layer it made (null for an empty
/// layer, or a layer made elsewhere: docker's &lt;missing&gt;), when, the instruction, the layer size, the comment.</summary>
public sealed record ImageHistoryLine(string? Layer, DateTimeOffset? Created, string CreatedBy, long Size, string Comment);
