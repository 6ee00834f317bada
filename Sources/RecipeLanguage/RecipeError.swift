/// A place in a recipe: 1-based line and column, and the file when there is one.
public struct RecipeLocation: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var file: String?
    public var line: Int
    public var column: Int

    public init(file: String? = nil, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `line 3, column 1`, prefixed by the file name when known.
    public var description: String {
        let position = "line \(line), column \(column)"
        if let file { return "\(file), \(position)" }
        return position
    }
}

/// An error in a recipe: a syntax error, an unsupported construct, a typo in a name or a label,
/// a type mismatch, or a failure while running. Every error the interpreter raises carries the
/// location of the expression that caused it.
public struct RecipeError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The text is not valid Swift.
        case syntax
        /// Valid Swift outside the recipe language.
        case unsupported
        /// A name that is neither a variable, a function nor a builtin.
        case unknownName
        /// A call with a label the function does not have, or a missing or extraneous label.
        case label
        /// A required argument left out.
        case missingArgument
        /// A value of the wrong type.
        case type
        /// A failure while running (an index out of range, a builtin that failed).
        case runtime
        /// Ctrl-C stopped the work.
        case interrupted
        /// A limit was hit: recursion depth, step budget, collection size.
        case limit
        /// A file could not be read or written, or the path is outside what the recipe may touch.
        case file
    }

    public var kind: Kind
    /// What went wrong and, when possible, how to fix it.
    public var message: String
    public var location: RecipeLocation?

    public init(_ kind: Kind, _ message: String, at location: RecipeLocation? = nil) {
        self.kind = kind
        self.message = message
        self.location = location
    }

    /// The message followed by `(line L, column C)` when the location is known.
    public var description: String {
        guard let location else { return message }
        return "\(message) (\(location))"
    }

    /// The description followed by the offending source line and a caret under the column.
    public func rendered(source: String) -> String {
        guard let location else { return "error: \(description)" }
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        guard location.line >= 1, location.line <= lines.count else { return "error: \(description)" }
        let text = String(lines[location.line - 1])
        let indent = String(text.prefix(max(0, location.column - 1)).map { $0 == "\t" ? "\t" : " " })
        return "error: \(description)\n    \(text)\n    \(indent)^"
    }

    /// The same error, located at `location` unless it already has a location.
    func located(at location: RecipeLocation?) -> RecipeError {
        var copy = self
        if copy.location == nil { copy.location = location }
        return copy
    }

    static func typeMismatch(expected: String, found value: Value) -> RecipeError {
        RecipeError(.type, "expected \(expected), found \(value.typeName)")
    }

    static func tooLarge(_ what: String) -> RecipeError {
        RecipeError(.limit, "\(what) is too large (the limit is \(Limits.collectionCount) elements)")
    }

    /// The error Ctrl-C raises.
    public static let interrupted = RecipeError(.interrupted, "interrupted")
}

/// Did-you-mean suggestions for misspelled names and labels.
enum Suggestions {
    /// The candidate closest to `name` by edit distance, when it is close enough to be a typo.
    static func closest(to name: String, in candidates: some Sequence<String>) -> String? {
        let lowered = name.lowercased()
        var best: (String, Int)?
        for candidate in candidates where candidate != name {
            let distance = editDistance(lowered, candidate.lowercased())
            let allowed = max(1, min(3, (max(name.count, candidate.count) + 2) / 4))
            guard distance <= allowed else { continue }
            if best == nil || distance < best!.1 || (distance == best!.1 && candidate < best!.0) {
                best = (candidate, distance)
            }
        }
        return best?.0
    }

    /// `; did you mean `x`?` or the empty string.
    static func didYouMean(_ name: String, in candidates: some Sequence<String>) -> String {
        guard let match = closest(to: name, in: candidates) else { return "" }
        return "; did you mean `\(match)`?"
    }

    /// Edit distance between two strings in characters, counting a swap of neighbours as one edit
    /// (`stpes` is one edit from `steps`).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
