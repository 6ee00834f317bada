import Foundation

/// Runs recipes: walks the lowered syntax tree statement by statement in one session of its host.
///
/// The same interpreter serves a recipe file (`run`), a REPL (`evaluate` once per input, the
/// globals kept between inputs) and a notebook (`evaluate` once per cell). Errors are thrown as
/// `RecipeError` with the location of the expression that failed; the interpreter stays usable
/// afterwards. Ctrl-C (`Interrupt`) is checked at every statement, loop iteration and call.
public final class Interpreter {
    /// The program running the recipes: where output goes, what files they may touch.
    public let host: RecipeHost
    /// The builtins and types recipes can use, the host's included.
    public let registry: Registry
    /// The most statements, loop iterations and calls one evaluation may take; nil for no limit.
    /// Tests and fuzzing set it so that an endless loop ends with an error.
    public var stepLimit: Int?
    /// The deepest recursion of recipe functions and closures.
    public var maximumCallDepth = 400
    /// Allows a top-level `let` to be declared again, as a REPL user redefines names.
    public var allowsRedeclaration = false

    /// Set by `requestInterrupt()`, from any thread.
    private let stopRequest = StopRequest()

    /// Asks the running evaluation to stop at its next check, as Ctrl-C does, for this
    /// interpreter only (Ctrl-C reaches every interpreter of the process).
    public func requestInterrupt() {
        stopRequest.set(true)
    }

    var globals = Scope(parent: nil)
    var steps = 0
    var callDepth = 0
    /// The declared return type of each function being run (nil inside closures).
    var returnTypes: [ValueType?] = []

    public init(host: RecipeHost) {
        self.host = host
        registry = host.registry
    }

    /// Runs a whole recipe (after its `--set` overrides) in the global scope.
    public func run(_ recipe: Recipe) throws {
        try evaluate(recipe)
    }

    /// Evaluates recipe text in the global scope, keeping what it declares. Returns the value of
    /// the last statement when it is an expression, `.void` otherwise.
    @discardableResult
    public func evaluate(_ source: String, fileName: String? = nil) throws -> Value {
        try execute {
            let program = try Lowering.lower(source, fileName: fileName, registry: self.registry)
            return try self.runTopLevel(program)
        }
    }

    /// Evaluates a recipe (with its `--set` overrides) in the global scope, keeping what it
    /// declares. Returns the value of the last statement when it is an expression.
    @discardableResult
    public func evaluate(_ recipe: Recipe) throws -> Value {
        try execute { try self.runTopLevel(try recipe.program(registry: self.registry)) }
    }

    /// Forgets every variable and function.
    public func reset() {
        globals = Scope(parent: nil)
    }

    /// The global variables and functions in declaration order.
    public var variables: [(name: String, value: Value, isConstant: Bool)] {
        globals.declared.map { (name: $0.name, value: $0.variable.value, isConstant: $0.variable.isConstant) }
    }

    /// Runs `body` on a large stack with this host current and the step counter reset.
    private func execute<T>(_ body: @escaping () throws -> T) throws -> T {
        Interrupt.clear()
        stopRequest.set(false)
        steps = 0
        callDepth = 0
        returnTypes = []
        return try LargeStack.run { try self.host.makeCurrent(body) }
    }

    private func runTopLevel(_ program: [Stmt]) throws -> Value {
        try Checker.check(program, known: Set(globals.visibleNames), registry: registry)
        hoistFunctions(program, into: globals)
        var last: Value = .void
        for (i, stmt) in program.enumerated() {
            if case .expression(let e) = stmt, i == program.count - 1 {
                try tick(e.location)
                last = try eval(e, globals)
                continue
            }
            switch try exec(stmt, globals) {
            case .normal: break
            case .breakLoop: throw RecipeError(.syntax, "`break` is only allowed inside a loop", at: stmt.location)
            case .continueLoop: throw RecipeError(.syntax, "`continue` is only allowed inside a loop", at: stmt.location)
            case .returned: throw RecipeError(.syntax, "`return` is only allowed inside a function", at: stmt.location)
            }
        }
        // A signal that stopped the last statement early (a training call ends its stage at the
        // next step) still ends the recipe as interrupted.
        if Interrupt.isRequested || stopRequest.value, let final = program.last {
            Interrupt.clear()
            stopRequest.set(false)
            throw RecipeError.interrupted.located(at: final.location)
        }
        return last
    }

    // MARK: - Budget and interrupts

    /// Counts one step; throws when the budget is spent or Ctrl-C was pressed.
    func tick(_ location: RecipeLocation) throws {
        steps += 1
        if let stepLimit, steps > stepLimit {
            throw RecipeError(.limit, "the recipe took more than \(stepLimit) steps", at: location)
        }
        if Interrupt.isRequested || stopRequest.value {
            Interrupt.clear()
            stopRequest.set(false)
            throw RecipeError.interrupted.located(at: location)
        }
    }

    // MARK: - Statements

    enum Flow {
        case normal, breakLoop, continueLoop
        case returned(Value)
    }

    /// Declares every `func` of a block first, so a function can be called above its declaration.
    func hoistFunctions(_ block: [Stmt], into scope: Scope) {
        for case .function(let decl) in block {
            scope.declare(decl.name, .function(makeFunction(decl, in: scope)), constant: true, type: nil)
        }
    }

    func execBlock(_ block: [Stmt], _ parent: Scope) throws -> Flow {
        let scope = Scope(parent: parent)
        hoistFunctions(block, into: scope)
        for stmt in block {
            let flow = try exec(stmt, scope)
            if case .normal = flow { continue }
            return flow
        }
        return .normal
    }

    func exec(_ stmt: Stmt, _ scope: Scope) throws -> Flow {
        try tick(stmt.location)
        switch stmt {
        case .expression(let e):
            _ = try eval(e, scope)
            return .normal
        case .binding(let b):
            try bind(b, scope)
            return .normal
        case .function, .importStatement:
            return .normal
        case .ifStatement(let s):
            return try execIf(s, scope)
        case .guardStatement(let conditions, let body, let location):
            if try test(conditions, in: scope) { return .normal }
            let flow = try execBlock(body, scope)
            if case .normal = flow {
                throw RecipeError(
                    .syntax, "the `else` of a `guard` must leave with `return`, `break` or `continue`",
                    at: location)
            }
            return flow
        case .forIn(let pattern, let sequence, let whereClause, let body, let location):
            return try execFor(pattern, sequence, whereClause, body, location, scope)
        case .whileLoop(let conditions, let body, let location):
            while true {
                try tick(location)
                let iteration = Scope(parent: scope)
                guard try test(conditions, in: iteration) else { break }
                switch try execBlock(body, iteration) {
                case .breakLoop: return .normal
                case .returned(let v): return .returned(v)
                case .normal, .continueLoop: continue
                }
            }
            return .normal
        case .repeatWhile(let body, let condition, let location):
            repeat {
                try tick(location)
                switch try execBlock(body, scope) {
                case .breakLoop: return .normal
                case .returned(let v): return .returned(v)
                case .normal, .continueLoop: break
                }
            } while try evalCondition(condition, scope)
            return .normal
        case .returnStatement(let e, let location):
            guard let expected = returnTypes.last else {
                throw RecipeError(.syntax, "`return` is only allowed inside a function", at: location)
            }
            guard let e else { return .returned(.void) }
            return .returned(try eval(e, scope, expecting: expected))
        case .breakStatement:
            return .breakLoop
        case .continueStatement:
            return .continueLoop
        }
    }

    private func execIf(_ s: IfStatement, _ scope: Scope) throws -> Flow {
        let conditionScope = Scope(parent: scope)
        if try test(s.conditions, in: conditionScope) {
            return try execBlock(s.body, conditionScope)
        }
        if let elseBody = s.elseBody { return try execBlock(elseBody, scope) }
        return .normal
    }

    private func execFor(
        _ pattern: Pattern, _ sequenceExpr: Expr, _ whereClause: Expr?, _ body: [Stmt],
        _ location: RecipeLocation, _ scope: Scope
    ) throws -> Flow {
        let sequence = try eval(sequenceExpr, scope)
        func iterate(_ element: Value) throws -> Flow? {
            try tick(location)
            let iteration = Scope(parent: scope)
            try bindPattern(pattern, element, constant: true, type: nil, in: iteration, at: location)
            if let whereClause, try !evalCondition(whereClause, iteration) { return nil }
            switch try execBlock(body, iteration) {
            case .breakLoop: return .normal
            case .returned(let v): return .returned(v)
            case .normal, .continueLoop: return nil
            }
        }
        switch sequence {
        case .range(let lower, let upper):
            var i = lower
            while i < upper {
                if let flow = try iterate(.int(i)) { return flow }
                i += 1
            }
        case .array(let elements):
            for e in elements { if let flow = try iterate(e) { return flow } }
        case .dictionary(let d):
            for (k, v) in d.entries { if let flow = try iterate(.tuple([k, v])) { return flow } }
        case .string(let s):
            for c in s { if let flow = try iterate(.string(String(c))) { return flow } }
        default:
            throw RecipeError(
                .type, "`for` needs an array, a range, a dictionary or a string, found \(sequence.typeName)",
                at: sequenceExpr.location)
        }
        return .normal
    }

    /// Evaluates `if`/`while`/`guard` conditions left to right; `if let` binds into `scope`.
    func test(_ conditions: [Condition], in scope: Scope) throws -> Bool {
        for condition in conditions {
            switch condition {
            case .expression(let e):
                guard try evalCondition(e, scope) else { return false }
            case .optionalBinding(let isConstant, let name, let e, _):
                let value = try eval(e, scope)
                if value.isNone { return false }
                scope.declare(name, value, constant: isConstant, type: nil)
            }
        }
        return true
    }

    func evalCondition(_ e: Expr, _ scope: Scope) throws -> Bool {
        let value = try eval(e, scope, expecting: .bool)
        guard case .bool(let b) = value else {
            throw RecipeError(.type, "a condition must be a Bool, found \(value.typeName)", at: e.location)
        }
        return b
    }

    // MARK: - Declarations

    private func bind(_ b: Binding, _ scope: Scope) throws {
        for name in b.pattern.names where scope.isDeclaredHere(name) {
            if !(allowsRedeclaration && scope === globals) {
                throw RecipeError(.syntax, "`\(name)` is already declared in this scope", at: b.location)
            }
        }
        guard let initializer = b.initializer else {
            guard case .name(let name) = b.pattern, let type = b.type else {
                throw RecipeError(.syntax, "a declaration without a value needs a name and a type", at: b.location)
            }
            scope.declare(name, .none, constant: b.isConstant, type: type, initialized: false)
            return
        }
        if b.type == nil {
            switch initializer {
            case .array(let elements, _) where elements.isEmpty:
                throw RecipeError(
                    .type, "an empty collection needs a type, e.g. `let xs: [Double] = []`",
                    at: initializer.location)
            case .dictionary(let pairs, _) where pairs.isEmpty:
                throw RecipeError(
                    .type, "an empty collection needs a type, e.g. `let xs: [Double] = []`",
                    at: initializer.location)
            case .nilLiteral:
                throw RecipeError(.type, "`nil` needs a type, e.g. `var best: Double? = nil`", at: initializer.location)
            default: break
            }
        }
        var value = try eval(initializer, scope, expecting: b.type)
        if let type = b.type {
            guard let converted = type.coerce(value, integerLiteral: initializer.isIntegerLiteral) else {
                throw RecipeError(.type, "cannot use a value of type \(value.typeName) as \(type)", at: initializer.location)
            }
            value = converted
        }
        if case .void = value {
            throw RecipeError(.type, "this expression has no value to store", at: initializer.location)
        }
        try bindPattern(
            b.pattern, value, constant: b.isConstant, type: b.type ?? Self.inferredType(value),
            in: scope, at: b.location)
    }

    func bindPattern(
        _ pattern: Pattern, _ value: Value, constant: Bool, type: ValueType?, in scope: Scope,
        at location: RecipeLocation
    ) throws {
        switch pattern {
        case .name(let name):
            scope.declare(name, value, constant: constant, type: type)
        case .wildcard:
            break
        case .tuple(let patterns):
            guard case .tuple(let elements) = value, elements.count == patterns.count else {
                throw RecipeError(.type, "cannot unpack \(value.typeName) into \(patterns.count) names", at: location)
            }
            for (p, e) in zip(patterns, elements) {
                try bindPattern(p, e, constant: constant, type: Self.inferredType(e), in: scope, at: location)
            }
        }
    }

    /// The type later assignments to a variable must keep, as Swift infers it from the first value.
    static func inferredType(_ value: Value) -> ValueType? {
        switch value {
        case .int, .double, .string, .bool: return value.valueType
        case .array(let elements):
            guard let first = elements.first, let t = inferredType(first) else { return nil }
            return .array(t)
        default: return nil
        }
    }

    func makeFunction(_ decl: FunctionDecl, in scope: Scope) -> Function {
        Function(name: decl.name, parameterCount: decl.parameters.count, kind: .user(decl)) { [weak self] values in
            guard let self else { throw RecipeError(.runtime, "`\(decl.name)` belongs to a session that has ended") }
            return try self.callUser(decl, scope, values, at: decl.location)
        }
    }
}

/// A flag one thread sets and the interpreter's thread reads.
private final class StopRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false

    var value: Bool {
        lock.lock()
        defer { lock.unlock() }
        return flag
    }

    func set(_ value: Bool) {
        lock.lock()
        flag = value
        lock.unlock()
    }
}
