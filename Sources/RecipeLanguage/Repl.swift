import Foundation

/// The REPL's logic, apart from the terminal: collecting multi-line input until its brackets
/// close, `:commands`, evaluation that survives errors and Ctrl-C, value display and completion.
///
/// `rlhf repl` drives it from readline on a terminal, or line by line from piped standard input
/// with `run(lines:)`.
public final class Repl {
    public let interpreter: Interpreter
    /// Receives everything the REPL itself writes: values, errors, help. Printed output of the
    /// recipe goes through the host's `display`.
    public var write: (String) -> Void
    private var pending: [String] = []
    private var inputCount = 0
    /// Every input that ran without an error since the session began (or since `:reset`): what
    /// `:save` writes and what a recording host keeps as the run's recipe.
    public private(set) var statements: [String] = []

    public enum Outcome: Equatable {
        /// The input was handled.
        case done
        /// Brackets or a string are still open: the next line continues the input.
        case needsMore
        /// `:quit`.
        case quit
    }

    /// The commands, with their one-line docs, in the order `:help` lists them.
    public static let commands: [(name: String, doc: String)] = [
        (":help", "List the builtins; `:help NAME` shows one builtin, type or variable."),
        (":load", "`:load FILE` runs a recipe file in this session."),
        (":vars", "List the variables and functions defined so far."),
        (":save", "`:save FILE` writes the statements that ran without an error as a recipe for `rlhf run`."),
        (":run", "Show the session's run file and its stages."),
        (":reset", "Forget every variable, function and the seed; training after it starts a new run."),
        (":quit", "Leave the REPL (Ctrl-D does too)."),
    ]

    public init(interpreter: Interpreter, write: @escaping (String) -> Void) {
        self.interpreter = interpreter
        self.write = write
        interpreter.allowsRedeclaration = true
    }

    /// The prompt for the next line.
    public var prompt: String { pending.isEmpty ? "rlhf> " : "  ...  " }

    /// Whether a multi-line input is open.
    public var isContinuing: Bool { !pending.isEmpty }

    /// Drops a half-typed multi-line input (Ctrl-C at the prompt).
    public func cancelInput() {
        pending = []
    }

    /// Handles one line of input.
    public func submit(_ line: String) -> Outcome {
        if pending.isEmpty {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix(":") { return command(trimmed) }
            if trimmed.isEmpty { return .done }
        }
        pending.append(line)
        let source = pending.joined(separator: "\n")
        if !Repl.isComplete(source) { return .needsMore }
        pending = []
        evaluate(source, fileName: nil)
        return .done
    }

    /// Reads lines until the input ends or `:quit`, echoing nothing: the loop for piped input.
    public func run(lines: inout some IteratorProtocol<String>) {
        while let line = lines.next() {
            if submit(line) == .quit { return }
        }
        if !pending.isEmpty {
            pending = []
            write("error: the input ended inside unclosed brackets or a string\n")
        }
    }

    private func evaluate(_ source: String, fileName: String?) {
        inputCount += 1
        do {
            let value = try interpreter.evaluate(source, fileName: fileName)
            statements.append(source)
            interpreter.host.statementsDidRun(statements)
            if let shown = Repl.display(value) { write(shown + "\n") }
        } catch let error as RecipeError {
            if error.kind == .interrupted {
                write("interrupted\n")
            } else {
                write(error.rendered(source: source) + "\n")
            }
        } catch {
            write("error: \(error)\n")
        }
    }

    // MARK: - Commands

    private func command(_ text: String) -> Outcome {
        let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
        let name = parts[0], argument = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        switch name {
        case ":help", ":h", ":?":
            write(
                argument.isEmpty
                    ? Reference.overview(interpreter.registry)
                    : Reference.help(for: argument, in: interpreter.registry, variables: interpreter.variables))
        case ":load", ":l":
            guard !argument.isEmpty else {
                write("usage: :load FILE\n")
                return .done
            }
            let path = (argument as NSString).expandingTildeInPath
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                write("error: cannot read \(path)\n")
                return .done
            }
            evaluate(text, fileName: argument)
        case ":vars", ":v":
            write(variablesListing())
        case ":save":
            guard !argument.isEmpty else {
                write("usage: :save FILE\n")
                return .done
            }
            let path = (argument as NSString).expandingTildeInPath
            do {
                try interpreter.host.savedRecipe(statements).write(toFile: path, atomically: true, encoding: .utf8)
                write("saved \(statements.count) statement\(statements.count == 1 ? "" : "s") to \(path)\n")
            } catch {
                write("error: cannot write \(path): \(error.localizedDescription)\n")
            }
        case ":run":
            write(interpreter.host.runSummary())
        case ":reset":
            interpreter.reset()
            statements = []
            interpreter.host.reset()
            write("session reset\n")
        case ":quit", ":q", ":exit":
            return .quit
        default:
            let hint = Suggestions.didYouMean(name, in: Repl.commands.map(\.name))
            write("unknown command `\(name)`\(hint) (commands: \(Repl.commands.map(\.name).joined(separator: " ")))\n")
        }
        return .done
    }

    private func variablesListing() -> String {
        let variables = interpreter.variables
        if variables.isEmpty { return "no variables yet\n" }
        let width = min(24, variables.map(\.name.count).max() ?? 0)
        return variables.map { v in
            let kind = v.isConstant ? "let" : "var"
            let summary = Repl.display(v.value, maxLength: 60)?.split(separator: "\n").first.map(String.init) ?? ""
            if case .function(let f) = v.value, case .user(let decl) = f.kind {
                return "func \(decl.fullName)\n"
            }
            return "\(kind) \(padded(v.name, to: width)): \(v.value.typeName) = \(summary)\n"
        }.joined()
    }

    // MARK: - Display

    /// How the REPL shows a value: nil for `()`; strings quoted; long collections shortened.
    public static func display(_ value: Value, maxLength: Int = 2000) -> String? {
        switch value {
        case .void: return nil
        case .opaque(let object): return object.describe()
        case .array(let elements) where elements.count > 50:
            let head = elements.prefix(20).map(\.debugDescription).joined(separator: ", ")
            return "[\(head), … (\(elements.count) elements)]"
        default:
            let text = value.debugDescription
            return text.count > maxLength ? String(text.prefix(maxLength)) + "…" : text
        }
    }

    // MARK: - Complete input

    /// Whether `source` can be evaluated: every bracket closed, no string or block comment open.
    public static func isComplete(_ source: String) -> Bool {
        enum Context { case code(closesInterpolationAt: Int?), string, multilineString }
        var stack: [Context] = [.code(closesInterpolationAt: nil)]
        var depth = 0
        let chars = Array(source)
        var i = 0
        func at(_ s: String) -> Bool {
            let pattern = Array(s)
            return i + pattern.count <= chars.count && Array(chars[i..<i + pattern.count]) == pattern
        }
        while i < chars.count {
            switch stack.last! {
            case .code(let closesAt):
                if at("//") {
                    while i < chars.count, chars[i] != "\n" { i += 1 }
                    continue
                }
                if at("/*") {
                    var nesting = 0
                    repeat {
                        if at("/*") { nesting += 1; i += 2 } else if at("*/") { nesting -= 1; i += 2 } else { i += 1 }
                    } while nesting > 0 && i < chars.count
                    if nesting > 0 { return false }
                    continue
                }
                if at("\"\"\"") { stack.append(.multilineString); i += 3; continue }
                switch chars[i] {
                case "\"": stack.append(.string)
                case "(", "[", "{": depth += 1
                case ")", "]", "}":
                    depth -= 1
                    if let closesAt, depth == closesAt, chars[i] == ")" { stack.removeLast() }
                default: break
                }
                i += 1
            case .string, .multilineString:
                let multiline: Bool = { if case .multilineString = stack.last! { return true } else { return false } }()
                if chars[i] == "\\" {
                    if i + 1 < chars.count, chars[i + 1] == "(" {
                        stack.append(.code(closesInterpolationAt: depth))
                        depth += 1
                        i += 2
                        continue
                    }
                    i += 2
                    continue
                }
                if multiline, at("\"\"\"") { stack.removeLast(); i += 3; continue }
                if !multiline, chars[i] == "\"" || chars[i] == "\n" { stack.removeLast() }
                i += 1
            }
        }
        return stack.count == 1 && depth <= 0
    }
}
