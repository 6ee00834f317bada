/// Tab completion for the REPL, from the registry and the session's variables.
extension Repl {
    /// Keywords offered where a statement or expression starts.
    static let keywords = [
        "let", "var", "func", "for", "in", "while", "if", "else", "return", "true", "false", "guard",
        "break", "continue", "repeat", "nil",
    ]

    /// The completions of the word that ends at `cursor` in `line`: `start` is where that word
    /// begins (a character offset) and each candidate replaces `line[start..<cursor]`.
    ///
    /// - `:he` gives commands; `:help mo` gives builtin and type names.
    /// - `task.pro` gives members of the value `task` (or static members of a type: `Model.ll`).
    /// - inside a call, `dpo(policy, be` gives `beta:` besides variables.
    /// - otherwise variables, builtins, types and keywords.
    public func completions(in line: String, cursor: Int? = nil) -> (start: Int, candidates: [String]) {
        let chars = Array(line.prefix(cursor ?? line.count))
        var start = chars.count
        while start > 0, Repl.isIdentifierCharacter(chars[start - 1]) { start -= 1 }
        let word = String(chars[start...])
        let before = String(chars[..<start])

        // `:commands`, and the argument of `:help`.
        if chars.first == ":" {
            if !chars.contains(" ") {
                let candidates = Repl.commands.map(\.name).filter { $0.hasPrefix(String(chars)) }
                return (0, candidates)
            }
            if before.hasPrefix(":help ") || before.hasPrefix(":h ") {
                // The argument of `:help` is one word with its dots: `Model.llama`.
                let argumentStart = String(chars).range(of: " ").map { String(chars)[..<$0.upperBound].count } ?? chars.count
                let argument = String(chars[argumentStart...])
                let names =
                    interpreter.registry.builtins.map(\.qualifiedName) + Array(interpreter.registry.types.keys)
                    + interpreter.variables.map(\.name) + ["language"]
                return (argumentStart, Array(Set(names.filter { $0.hasPrefix(argument) })).sorted())
            }
            return (start, [])
        }

        // Members after a dot.
        if before.hasSuffix(".") {
            let receiverChars = Array(before.dropLast())
            var r = receiverChars.count
            while r > 0, Repl.isIdentifierCharacter(receiverChars[r - 1]) { r -= 1 }
            let receiver = String(receiverChars[r...])
            return (start, memberCandidates(of: receiver, context: String(receiverChars[..<r])).filter { $0.hasPrefix(word) })
        }

        var candidates: [String] = []
        // Labels of the innermost open call, when the word starts an argument.
        let trimmed = before.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("(") || trimmed.hasSuffix(","), let callee = Repl.openCall(in: before) {
            let used = Set(Repl.labelsUsed(in: before))
            candidates += parameters(of: callee).compactMap(\.label).filter { !used.contains($0) }.map { "\($0):" }
        }
        candidates += interpreter.variables.map(\.name) + interpreter.registry.globalNames + Repl.keywords
        var seen = Set<String>()
        return (start, candidates.filter { $0.hasPrefix(word) && seen.insert($0).inserted })
    }

    static func isIdentifierCharacter(_ c: Character) -> Bool {
        c.isLetter || c.isNumber || c == "_"
    }

    /// Members of `receiver`: static members of a type, or members of a variable's value; after a
    /// bare `.`, the cases of every enum-like type.
    private func memberCandidates(of receiver: String, context: String) -> [String] {
        if receiver.isEmpty {
            let expected =
                Repl.openCall(in: context).flatMap { callee in
                    parameters(of: callee).map(\.type).compactMap(\.implicitMemberType)
                } ?? []
            let types = expected.isEmpty ? Array(interpreter.registry.types.keys) : expected
            return types.flatMap { interpreter.registry.staticMemberNames(of: $0) }.sorted()
        }
        if interpreter.registry.types[receiver] != nil, !interpreter.variables.contains(where: { $0.name == receiver }) {
            return interpreter.registry.staticMemberNames(of: receiver)
        }
        guard let value = interpreter.variables.last(where: { $0.name == receiver })?.value else { return [] }
        return interpreter.registry.instanceMemberNames(of: value.memberTypeName)
    }

    /// The parameters of every builtin a callee name (`dpo`, `Model.llama`, `xs.append`) may mean.
    private func parameters(of callee: String) -> [Builtin.Parameter] {
        let parts = callee.split(separator: ".").map(String.init)
        var builtins: [Builtin] = []
        if parts.count == 1 {
            builtins = interpreter.registry.functions[parts[0]] ?? []
            if builtins.isEmpty,
                case .function(let f)? = interpreter.variables.last(where: { $0.name == parts[0] })?.value,
                case .user(let decl) = f.kind
            {
                return decl.parameters.map { Builtin.Parameter(label: $0.label, name: $0.name, type: $0.type) }
            }
        } else if parts.count == 2 {
            if interpreter.registry.types[parts[0]] != nil {
                builtins = interpreter.registry.staticMembers(parts[1], of: parts[0])
            } else if let value = interpreter.variables.last(where: { $0.name == parts[0] })?.value {
                builtins = interpreter.registry.instanceMembers(parts[1], of: value.memberTypeName)
            }
        }
        return builtins.flatMap(\.parameters)
    }

    /// The called name (`dpo` or `Model.llama`) of the innermost unclosed `(` in `text`.
    static func openCall(in text: String) -> String? {
        let chars = Array(text)
        var depth = 0
        var i = chars.count - 1
        var inString = false
        while i >= 0 {
            let c = chars[i]
            if c == "\"" { inString.toggle() }
            if !inString {
                if c == ")" || c == "]" || c == "}" { depth += 1 }
                if c == "(" || c == "[" || c == "{" {
                    if depth == 0 {
                        guard c == "(" else { return nil }
                        var j = i
                        while j > 0, isIdentifierCharacter(chars[j - 1]) || chars[j - 1] == "." { j -= 1 }
                        let name = String(chars[j..<i])
                        return name.isEmpty ? nil : name
                    }
                    depth -= 1
                }
            }
            i -= 1
        }
        return nil
    }

    /// Labels already written in the innermost open call.
    static func labelsUsed(in text: String) -> [String] {
        guard let open = text.lastIndex(of: "(") else { return [] }
        let inside = text[text.index(after: open)...]
        return inside.split(separator: ",").compactMap { piece in
            let part = piece.trimmingCharacters(in: .whitespaces)
            guard let colon = part.firstIndex(of: ":") else { return nil }
            let label = String(part[..<colon])
            return label.allSatisfy(isIdentifierCharacter) ? label : nil
        }
    }
}
