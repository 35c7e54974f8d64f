using System.Text.Json;
using BuildFarm.Oci;

namespace BuildFarm.Cache;

/// <summary>
/// A record's checksum over its own content (everything but the seal), stored in the record. Checking it on every
/// use is a hash of a few hundred bytes, whereas checking the diff id against the blob would mean decompressing the
/// layer on each cache hit, and a hit on the last step never reads its layer at all (export only copies the blob):
/// a changed diff id would pass straight into the image config. It guards against damage (bit flips, torn or
/// hand-edited records), not against a writer who can recompute it; the worker still checks every layer's diff id
/// when it unpacks one.
/// </summary>
public static class StepRecordSeal
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static string Compute(StepRecord record) =>
        Digest.Compute(JsonSerializer.SerializeToUtf8Bytes(record with { Seal = null }, Json)).ToString();

    public static StepRecord Sealed(StepRecord record) => record with { Seal = Compute(record) };

    /// <summary>True when the record carries a seal that matches its content.</summary>
    public static bool IsIntact(StepRecord record) => record.Seal is { } seal && seal == Compute(record);
}
