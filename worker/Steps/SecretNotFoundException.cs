namespace BuildFarm.Worker.Steps;

/// <summary>A RUN needs a secret (required=true) that the build did not provide.</summary>
public sealed class SecretNotFoundException(string message) : Exception(message);
