namespace BuildFarm.Worker.Execution;

/// <summary>A user or group name is not in the image's /etc/passwd or /etc/group.</summary>
public sealed class UserNotFoundException(string message) : Exception(message);
