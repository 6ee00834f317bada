import Foundation

/// What the recipe language needs from the program that runs it: the builtins and types recipes
/// can use, where output goes, which files a recipe may touch, and what `:reset` forgets.
///
/// The `Recipes` module's `Session` is the host of `rlhf run`, the REPL and notebooks. The
/// interpreter makes its host current on its thread while it evaluates (`makeCurrent`), so the
/// Swift API behind the builtins finds it with `CurrentHost.host`.
public protocol RecipeHost: AnyObject {
    /// The builtin areas and types recipes can use: the language's own and the host's.
    var registry: Registry { get }
    /// Receives everything a recipe prints or displays.
    var display: (OutputItem) -> Void { get set }
    /// The URL for reading `path`; throws a `RecipeError` when the host does not allow it.
    func readableURL(_ path: String) throws -> URL
    /// The URL for writing `path`; throws a `RecipeError` when the host does not allow it.
    func writableURL(_ path: String) throws -> URL
    /// Forgets what the host keeps for the session (`:reset` in the REPL, after the variables).
    func reset()
    /// Called by the REPL after each input that ran without an error, with every such input of
    /// the session so far: a host that records runs keeps them as the run's recipe text.
    func statementsDidRun(_ statements: [String])
    /// The recipe `:save FILE` writes for the REPL's successful `statements`.
    func savedRecipe(_ statements: [String]) -> String
    /// What `:run` shows: the session's run file and its stages, or that it has none.
    func runSummary() -> String
}

extension RecipeHost {
    public func statementsDidRun(_ statements: [String]) {}

    public func savedRecipe(_ statements: [String]) -> String {
        statements.map { $0.hasSuffix("\n") ? $0 : $0 + "\n" }.joined()
    }

    public func runSummary() -> String { "this session records no run file\n" }

    /// Writes text exactly as `print` would (include the terminator).
    public func write(_ text: String) {
        display(.text(text))
    }

    /// Shows a table, a chart or text.
    public func show(_ item: OutputItem) {
        display(item)
    }

    /// Makes this host current on this thread while `body` runs.
    public func makeCurrent<T>(_ body: () throws -> T) rethrows -> T {
        let dictionary = Thread.current.threadDictionary
        let previous = dictionary[CurrentHost.threadKey]
        dictionary[CurrentHost.threadKey] = self
        defer { dictionary[CurrentHost.threadKey] = previous }
        return try body()
    }
}

/// The host an interpreter made current on this thread while it runs. Each interpreter runs on
/// its own thread, so several hosts can run recipes at once in one process.
public enum CurrentHost {
    static let threadKey = "swift-rlhf.recipe-host"

    /// The current host on this thread; nil outside an interpreter (a compiled program).
    public static var host: RecipeHost? {
        Thread.current.threadDictionary[threadKey] as? RecipeHost
    }

    /// Shows `item` in the current host, or on standard output when there is none.
    static func show(_ item: OutputItem) {
        if let host { host.show(item) } else { writeToStandardOutput(item.plainText) }
    }
}
