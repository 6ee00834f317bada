/// How a data file's records are read, named as OpenRLHF's dataset flags (in Swift case): which
/// keys hold what, the prompt format, and how many records to keep.
///
/// Each kind of data reads the keys it needs: SFT `inputKey`/`outputKey` (`multiturn`,
/// `pretrainMode`), preferences `promptKey`/`chosenKey`/`rejectedKey`, unpaired data
/// `inputKey`/`outputKey`/`labelKey`, prompts `inputKey`/`labelKey`/`datasourceKey`.
public struct DataOptions: Codable, Equatable, Sendable, DeclaredOptions {
    public var inputKey = "input"
    public var outputKey: String? = "output"
    public var promptKey: String? = "prompt"
    public var chosenKey = "chosen"
    public var rejectedKey = "rejected"
    public var labelKey = "label"
    public var datasourceKey = "datasource"
    public var inputTemplate: String? = nil
    public var applyChatTemplate = false
    public var multiturn = false
    public var pretrainMode = false
    public var maxSamples: Int? = nil

    public init() {}

    public static let options: [OptionRow<DataOptions>] = [
        .string("inputKey", \.inputKey, "The key of the input (the prompt, or a chat's messages)."),
        .string("outputKey", \.outputKey, "The key of the response (nil: the last message of a chat input)."),
        .string("promptKey", \.promptKey, "Preference data: the key of the prompt (nil: none)."),
        .string("chosenKey", \.chosenKey, "Preference data: the key of the preferred response."),
        .string("rejectedKey", \.rejectedKey, "Preference data: the key of the rejected response."),
        .string("labelKey", \.labelKey, "The key of the label (KTO's desirability, a prompt's answer, PRM's step labels)."),
        .string("datasourceKey", \.datasourceKey, "Prompts: the key naming each prompt's source (pass@k per source)."),
        .string("inputTemplate", \.inputTemplate, "A template for the input, `{}` marking where it goes (nil: none)."),
        .bool("applyChatTemplate", \.applyChatTemplate, "Put inputs through the tokenizer's chat template."),
        .bool("multiturn", \.multiturn, "SFT on a chat: train every assistant turn, not only the last."),
        .bool("pretrainMode", \.pretrainMode, "SFT on raw text: every token is trained, no EOS added."),
        .int("maxSamples", \.maxSamples, "Keep only the first this many records (nil: all).", check: atLeast(1)),
    ]
}
