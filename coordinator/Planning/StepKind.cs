namespace BuildFarm.Coordinator.Planning;

public enum StepKind
{
    /// <summary>A stage's base: an image, scratch, or another stage.</summary>
    From,
    /// <summary>RUN: a container process; yields a layer.</summary>
    Run,
    /// <summary>COPY: a file operation; yields a layer.</summary>
    Copy,
    /// <summary>ADD: a file operation (also URLs and archives); yields a layer.</summary>
    Add,
    /// <summary>An image-config change (ENV, LABEL, USER, CMD, WORKDIR /, ...).</summary>
    Config,
    /// <summary>WORKDIR other than /: the config change plus a file operation (mkdir -p as USER); yields a layer.</summary>
    Workdir,
}
