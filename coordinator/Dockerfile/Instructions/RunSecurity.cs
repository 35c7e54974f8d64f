namespace BuildFarm.Coordinator.Dockerfile.Instructions;

/// <summary>Values of <c>RUN --security</c>.</summary>
public static class RunSecurity
{
    public const string Sandbox = "sandbox";
    public const string Insecure = "insecure";

    public static bool IsValid(string value) => value is Sandbox or Insecure;
}
