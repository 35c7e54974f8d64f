using BuildFarm.Protos.Cluster;

namespace BuildFarm.Protos;

/// <summary>An error that knows its class, so callers decide by class instead of by exception type.</summary>
public class ClassifiedException(ErrorClass errorClass, string message, Exception? inner = null) : Exception(message, inner)
{
    public ErrorClass ErrorClass { get; } = errorClass;
}
