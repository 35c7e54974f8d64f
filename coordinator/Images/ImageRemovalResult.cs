namespace BuildFarm.Coordinator.Images;

/// <summary>What <c>rmi NAME</c> did, in docker's words: the names untagged, the ID and blobs deleted, or why nothing was.</summary>
public sealed record ImageRemovalResult(IReadOnlyList<string> Untagged, IReadOnlyList<string> Deleted, string? Error)
{
    public static ImageRemovalResult Failed(string error) => new([], [], error);
}
