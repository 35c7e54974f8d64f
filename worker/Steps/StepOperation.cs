namespace BuildFarm.Worker.Steps;

/// <summary>What a step does, as plain data: the frontend has already expanded variables and parsed flags.</summary>
public abstract record StepOperation;
