namespace BuildFarm.Worker.Actors;

/// <summary>Receives a running step's output; called from any thread.</summary>
public interface IStepOutput
{
    /// <param name="stream">1 stdout, 2 stderr.</param>
    void Write(int stream, string line);
}
