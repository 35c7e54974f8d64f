using System.Text.Json.Serialization;

namespace BuildFarm.Client;

/// <summary>Source-generated (reflection-free, AOT-safe) JSON for <see cref="EngineRecord"/>.</summary>
[JsonSerializable(typeof(EngineRecord))]
public sealed partial class EngineRecordJson : JsonSerializerContext;
