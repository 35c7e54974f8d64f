namespace BuildFarm.Coordinator.Dockerfile.Lint;

/// <summary>BuildKit's Dockerfile rules (frontend/dockerfile/linter/ruleset.go) with its exact descriptions, links and messages.</summary>
public static class LintRules
{
    private const string Docs = "https://docs.docker.com/go/dockerfile/rule/";

    public static LintRule StageNameCasing { get; } = new("StageNameCasing", "Stage names should be lowercase", Docs + "stage-name-casing/");
    public static LintRule FromAsCasing { get; } = new("FromAsCasing", "The 'as' keyword should match the case of the 'from' keyword", Docs + "from-as-casing/");
    public static LintRule NoEmptyContinuation { get; } = new("NoEmptyContinuation", "Empty continuation lines will become errors in a future release", Docs + "no-empty-continuation/");
    public static LintRule ConsistentInstructionCasing { get; } = new("ConsistentInstructionCasing", "All commands within the Dockerfile should use the same casing (either upper or lower)", Docs + "consistent-instruction-casing/");
    public static LintRule DuplicateStageName { get; } = new("DuplicateStageName", "Stage names should be unique", Docs + "duplicate-stage-name/");
    public static LintRule ReservedStageName { get; } = new("ReservedStageName", "Reserved words should not be used as stage names", Docs + "reserved-stage-name/");
    public static LintRule JsonArgsRecommended { get; } = new("JSONArgsRecommended", "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals", Docs + "json-args-recommended/");
    public static LintRule MaintainerDeprecated { get; } = new("MaintainerDeprecated", "The MAINTAINER instruction is deprecated, use a label instead to define an image author", Docs + "maintainer-deprecated/");
    public static LintRule UndefinedArgInFrom { get; } = new("UndefinedArgInFrom", "FROM command must use declared ARGs", Docs + "undefined-arg-in-from/");
    public static LintRule WorkdirRelativePath { get; } = new("WorkdirRelativePath", "Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes", Docs + "workdir-relative-path/");
    public static LintRule UndefinedVar { get; } = new("UndefinedVar", "Variables should be defined before their use", Docs + "undefined-var/");
    public static LintRule MultipleInstructionsDisallowed { get; } = new("MultipleInstructionsDisallowed", "Multiple instructions of the same type should not be used in the same stage", Docs + "multiple-instructions-disallowed/");
    public static LintRule LegacyKeyValueFormat { get; } = new("LegacyKeyValueFormat", "Legacy key/value format with whitespace separator should not be used", Docs + "legacy-key-value-format/");
    public static LintRule RedundantTargetPlatform { get; } = new("RedundantTargetPlatform", "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior", Docs + "redundant-target-platform/");
    public static LintRule SecretsUsedInArgOrEnv { get; } = new("SecretsUsedInArgOrEnv", "Sensitive data should not be used in the ARG or ENV commands", Docs + "secrets-used-in-arg-or-env/");
    public static LintRule InvalidDefaultArgInFrom { get; } = new("InvalidDefaultArgInFrom", "Default value for global ARG results in an empty or invalid base image name", Docs + "invalid-default-arg-in-from/");
    public static LintRule FromPlatformFlagConstDisallowed { get; } = new("FromPlatformFlagConstDisallowed", "FROM --platform flag should not use a constant value", Docs + "from-platform-flag-const-disallowed/");
    public static LintRule CopyIgnoredFile { get; } = new("CopyIgnoredFile", "Attempting to Copy file that is excluded by .dockerignore", Docs + "copy-ignored-file/");
    public static LintRule ExposeProtoCasing { get; } = new("ExposeProtoCasing", "Protocol in EXPOSE instruction should be lowercase", Docs + "expose-proto-casing/");
    public static LintRule ExposeInvalidFormat { get; } = new("ExposeInvalidFormat", "IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release", Docs + "expose-invalid-format/");

    // Experimental in BuildKit: runs only when `# check=experimental=...` names it (not implemented here, listed for the name).
    public static LintRule InvalidDefinitionDescription { get; } = new("InvalidDefinitionDescription", "Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this is not intended to be a description comment, add an empty line or comment between the instruction and the comment.", Docs + "invalid-definition-description/", Experimental: true);

    public static IReadOnlyList<LintRule> All { get; } =
    [
        StageNameCasing, FromAsCasing, NoEmptyContinuation, ConsistentInstructionCasing, DuplicateStageName, ReservedStageName,
        JsonArgsRecommended, MaintainerDeprecated, UndefinedArgInFrom, WorkdirRelativePath, UndefinedVar, MultipleInstructionsDisallowed,
        LegacyKeyValueFormat, RedundantTargetPlatform, SecretsUsedInArgOrEnv, InvalidDefaultArgInFrom, FromPlatformFlagConstDisallowed,
        CopyIgnoredFile, ExposeProtoCasing, ExposeInvalidFormat, InvalidDefinitionDescription,
    ];

    // The messages, word for word as BuildKit's Format functions (Go's %q is GoQuote).
    public static string StageNameCasingMessage(string stage) => $"Stage name '{stage}' should be lowercase";
    public static string FromAsCasingMessage(string from, string @as) => $"'{@as}' and '{from}' keywords' casing do not match";
    public static string NoEmptyContinuationMessage() => "Empty continuation line";
    public static string ConsistentInstructionCasingMessage(string command, string casing) => $"Command '{command}' should match the case of the command majority ({casing})";
    public static string DuplicateStageNameMessage(string stage) => $"Duplicate stage name {GoQuote.Quote(stage)}, stage names should be unique";
    public static string ReservedStageNameMessage(string stage) => $"Stage name should not use the same name as reserved stage {GoQuote.Quote(stage)}";
    public static string JsonArgsRecommendedMessage(string instruction) => $"JSON arguments recommended for {instruction} to prevent unintended behavior related to OS signals";
    public static string MaintainerDeprecatedMessage() => "Maintainer instruction is deprecated in favor of using label";
    public static string UndefinedArgInFromMessage(string arg, string? suggest) =>
        $"FROM argument '{arg}' is not declared" + (string.IsNullOrEmpty(suggest) ? "" : $" (did you mean {suggest}?)");
    public static string WorkdirRelativePathMessage(string workdir) => $"Relative workdir {GoQuote.Quote(workdir)} can have unexpected results if the base image changes";
    public static string UndefinedVarMessage(string name, string? suggest) =>
        $"Usage of undefined variable '${name}'" + (string.IsNullOrEmpty(suggest) ? "" : $" (did you mean ${suggest}?)");
    public static string MultipleInstructionsDisallowedMessage(string instruction) =>
        $"Multiple {instruction} instructions should not be used in the same stage because only the last one will be used";
    public static string LegacyKeyValueFormatMessage(string command) => $"\"{command} key=value\" should be used instead of legacy \"{command} key value\" format";
    public static string RedundantTargetPlatformMessage(string platform) => $"Setting platform to predefined {platform} in FROM is redundant as this is the default behavior";
    public static string SecretsUsedInArgOrEnvMessage(string instruction, string key) => $"Do not use ARG or ENV instructions for sensitive data ({instruction} {GoQuote.Quote(key)})";
    public static string InvalidDefaultArgInFromMessage(string baseName) => $"Default value for ARG {baseName} results in empty or invalid base image name";
    public static string FromPlatformFlagConstDisallowedMessage(string platform) => $"FROM --platform flag should not use constant value {GoQuote.Quote(platform)}";
    public static string CopyIgnoredFileMessage(string command, string file) => $"Attempting to {command} file {GoQuote.Quote(file)} that is excluded by .dockerignore";
    public static string ExposeProtoCasingMessage(string port) => $"Defined protocol '{port}' in EXPOSE instruction should be lowercase";
    public static string ExposeInvalidFormatMessage(string port) => $"EXPOSE instruction should not define an IP address or host-port mapping, found '{port}'";
}
