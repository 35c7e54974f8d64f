using BuildFarm.Protos.Cluster;

namespace BuildFarm.Protos;

/// <summary>The public API spells error classes as words, so clients need not know the cluster enum.</summary>
public static class ErrorClassNames
{
    public static string Of(ErrorClass errorClass) => errorClass switch
    {
        ErrorClass.UserError => "user_error",
        ErrorClass.Unavailable => "unavailable",
        ErrorClass.Canceled => "canceled",
        ErrorClass.Internal => "internal",
        _ => "",
    };

    public static ErrorClass Parse(string name) => name switch
    {
        "user_error" => ErrorClass.UserError,
        "unavailable" => ErrorClass.Unavailable,
        "canceled" => ErrorClass.Canceled,
        "internal" => ErrorClass.Internal,
        _ => ErrorClass.Unspecified,
    };
}
