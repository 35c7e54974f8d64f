namespace BuildFarm.Coordinator.Api.Identity;

/// <summary>A tokens file that cannot be used, with the file and line at fault in the message.</summary>
public sealed class TokenTableException(string message) : Exception(message);
