// Loading a byte-level BPE tokenizer from the files HuggingFace saves: `tokenizer.json` (vocabulary,
// merges, added tokens, pre-tokenizer) and, optionally, `tokenizer_config.json` (which of the
// tokens are bos/eos/pad, and the chat template).

import Foundation

extension BPETokenizer {
    /// Loads `tokenizer.json` and, when given, `tokenizer_config.json`.
    ///
    /// Only byte-level BPE is accepted: model `BPE`, no normalizer, and a pre-tokenizer that is
    /// `ByteLevel(use_regex: true, add_prefix_space: false)`, optionally after
    /// `Digits(individual_digits: true)` (SmolLM2).
    ///
    /// - Parameters:
    ///   - tokenizerJSON: The `tokenizer.json` file.
    ///   - configuration: The `tokenizer_config.json` file; without it bos/eos/pad are unknown and
    ///     ``chatTemplate`` is nil.
    /// - Throws: ``TokenizerError`` naming the file and what is wrong.
    public convenience init(tokenizerJSON: URL, configuration: URL? = nil) throws {
        let data = try BPETokenizer.read(tokenizerJSON)
        let configurationData = try configuration.map { try BPETokenizer.read($0) }
        try self.init(
            tokenizerJSONData: data, configurationData: configurationData,
            source: tokenizerJSON.path, configurationSource: configuration?.path ?? "")
    }

    /// Loads `tokenizer.json` (and `tokenizer_config.json` when present) from a model directory.
    public static func load(directory: URL) throws -> BPETokenizer {
        let config = directory.appendingPathComponent("tokenizer_config.json")
        return try BPETokenizer(
            tokenizerJSON: directory.appendingPathComponent("tokenizer.json"),
            configuration: FileManager.default.fileExists(atPath: config.path) ? config : nil)
    }

    /// Builds a tokenizer from the bytes of `tokenizer.json` and `tokenizer_config.json`.
    ///
    /// - Parameters:
    ///   - source: Names the `tokenizer.json` in error messages.
    ///   - configurationSource: Names the `tokenizer_config.json` in error messages.
    public convenience init(
        tokenizerJSONData data: Data, configurationData: Data? = nil,
        source: String = "tokenizer.json", configurationSource: String = "tokenizer_config.json"
    ) throws {
        func fail(_ reason: String) -> TokenizerError { .malformedTokenizerJSON(path: source, reason: reason) }
        let root: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw fail("the top level is not a JSON object")
            }
            root = object
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw fail("invalid JSON (\(error.localizedDescription))")
        }
        guard let model = root["model"] as? [String: Any] else { throw fail("no \"model\" object") }
        let modelType = model["type"] as? String ?? "BPE"
        guard modelType == "BPE" else { throw TokenizerError.unsupportedModel(source: source, model: modelType) }
        guard let vocab = model["vocab"] as? [String: Any] else { throw fail("no \"model.vocab\" object") }

        // Added tokens may lie beyond the model's vocabulary; the id space is their union.
        let addedList = root["added_tokens"] as? [[String: Any]] ?? []
        var added: [AddedToken] = []
        for (index, entry) in addedList.enumerated() {
            guard let id = (entry["id"] as? NSNumber)?.intValue, let content = entry["content"] as? String else {
                throw fail("added_tokens[\(index)] lacks an integer \"id\" or a string \"content\"")
            }
            added.append(AddedToken(id: id, content: content, special: entry["special"] as? Bool ?? false))
        }
        var size = 0
        for value in vocab.values {
            guard let id = (value as? NSNumber)?.intValue, id >= 0 else {
                throw fail("model.vocab has a value that is not a non-negative integer id")
            }
            size = max(size, id + 1)
        }
        for token in added { size = max(size, token.id + 1) }
        var tokens = [String](repeating: "", count: size)
        var filled = [Bool](repeating: false, count: size)
        for (token, value) in vocab {
            let id = (value as! NSNumber).intValue
            tokens[id] = token
            filled[id] = true
        }
        for token in added where !filled[token.id] {
            tokens[token.id] = token.content
            filled[token.id] = true
        }
        if let hole = filled.firstIndex(of: false) {
            throw TokenizerError.inconsistentVocabulary(source: source, reason: "no token has id \(hole)")
        }

        var merges: [(String, String)] = []
        let rawMerges = model["merges"] as? [Any] ?? []
        merges.reserveCapacity(rawMerges.count)
        for (index, rule) in rawMerges.enumerated() {
            if let text = rule as? String, let space = text.firstIndex(of: " ") {
                merges.append((String(text[..<space]), String(text[text.index(after: space)...])))
            } else if let pair = rule as? [String], pair.count == 2 {
                merges.append((pair[0], pair[1]))
            } else {
                throw fail("model.merges[\(index)] is neither \"left right\" nor [left, right]")
            }
        }

        if let normalizer = root["normalizer"] as? [String: Any] {
            let steps = normalizer["normalizers"] as? [Any]
            if !(normalizer["type"] as? String == "Sequence" && (steps?.isEmpty ?? true)) {
                throw TokenizerError.unsupportedModel(
                    source: source, model: "BPE with normalizer \(normalizer["type"] as? String ?? "?")")
            }
        }
        let preTokenizer = try BPETokenizer.preTokenizer(root["pre_tokenizer"], source: source)

        var unknownID: Int? = nil
        if let unk = model["unk_token"] as? String {
            guard let id = vocab[unk].flatMap({ ($0 as? NSNumber)?.intValue }) else {
                throw TokenizerError.inconsistentVocabulary(
                    source: source, reason: "unk_token \(unk.debugDescription) is not in the vocabulary")
            }
            unknownID = id
        }

        // tokenizer_config.json: special tokens by content, and the chat template.
        var bos: Int? = nil
        var eos: Int? = nil
        var pad: Int? = nil
        var template: ChatTemplate? = nil
        if let configurationData {
            guard let config = (try? JSONSerialization.jsonObject(with: configurationData)) as? [String: Any] else {
                throw TokenizerError.malformedTokenizerJSON(path: configurationSource, reason: "not a JSON object")
            }
            var ids: [String: Int] = [:]
            for (id, token) in tokens.enumerated() where ids[token] == nil { ids[token] = id }
            func specialID(_ key: String) throws -> Int? {
                let value = config[key]
                let content = value as? String ?? (value as? [String: Any])?["content"] as? String
                guard let content else { return nil }
                guard let id = ids[content] else {
                    throw TokenizerError.inconsistentVocabulary(
                        source: configurationSource, reason: "\(key) \(content.debugDescription) is not in the vocabulary")
                }
                return id
            }
            bos = try specialID("bos_token")
            eos = try specialID("eos_token")
            pad = try specialID("pad_token")
            if let jinja = BPETokenizer.chatTemplateSource(config["chat_template"]) {
                template = try ChatTemplate(jinja: jinja)
            }
        }

        try self.init(
            tokens: tokens, merges: merges, addedTokens: added,
            bosTokenID: bos, eosTokenID: eos, padTokenID: pad, unknownTokenID: unknownID,
            preTokenizer: preTokenizer, fuseUnknown: model["fuse_unk"] as? Bool ?? false,
            ignoreMerges: model["ignore_merges"] as? Bool ?? false, chatTemplate: template, source: source)
    }

    /// The template string of `chat_template`: a string, or the entry named "default" of a list.
    static func chatTemplateSource(_ value: Any?) -> String? {
        if let text = value as? String { return text }
        if let list = value as? [[String: Any]] {
            let entry = list.first { $0["name"] as? String == "default" } ?? list.first
            return entry?["template"] as? String
        }
        return nil
    }

    static func preTokenizer(_ value: Any?, source: String) throws -> PreTokenizer {
        func unsupported(_ what: String) -> TokenizerError {
            .unsupportedModel(source: source, model: "BPE with pre-tokenizer \(what)")
        }
        guard let object = value as? [String: Any], let type = object["type"] as? String else {
            throw unsupported("none (byte-level BPE needs ByteLevel)")
        }
        func isByteLevel(_ step: [String: Any]) -> Bool {
            step["type"] as? String == "ByteLevel" && (step["use_regex"] as? Bool ?? true)
                && !(step["add_prefix_space"] as? Bool ?? false)
        }
        if isByteLevel(object) { return .gpt2 }
        if type == "Sequence", let steps = object["pretokenizers"] as? [[String: Any]] {
            if steps.count == 1 && isByteLevel(steps[0]) { return .gpt2 }
            if steps.count == 2, steps[0]["type"] as? String == "Digits",
                steps[0]["individual_digits"] as? Bool == true, isByteLevel(steps[1])
            {
                return .gpt2IndividualDigits
            }
            throw unsupported("Sequence[" + steps.map { $0["type"] as? String ?? "?" }.joined(separator: ", ") + "]")
        }
        throw unsupported(type)
    }

    static func read(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: error.localizedDescription)
        }
    }
}
