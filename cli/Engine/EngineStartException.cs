namespace BuildFarm.Cli.Engine;

/// <summary>The resident engine could not be reached nor started; the message names why and where its log is.</summary>
public sealed class EngineStartException(string message) : Exception(message);
