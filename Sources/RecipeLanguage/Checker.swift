/// Checks a lowered recipe before it runs: every name must be declared (or be a builtin or a
/// type), and every call of a builtin function must use labels the builtin has. A typo on the
/// last line of a recipe is then reported at once, not after an hour of training.
///
/// The check follows Swift's scoping: code sees what is declared above it; a top-level `func`
/// body also sees the top-level names declared below it; functions are visible in their whole
/// block. Types of values are not known before running, so members and argument types are left
/// to the interpreter.
struct Checker {
    /// Names declared in each open scope, innermost last.
    private var scopes: [Set<String>]
    /// Every name the top level declares, for the bodies of top-level functions.
    private var topLevelNames: Set<String> = []
    private var topLevelFunctionDepth: Int?
    /// The builtins and types recipes may name.
    private let registry: Registry

    /// `known` holds names declared by earlier inputs of the same session (REPL, notebooks).
    init(known: Set<String>, registry: Registry) {
        scopes = [known]
        self.registry = registry
    }

    static func check(_ program: [Stmt], known: Set<String>, registry: Registry) throws {
        var checker = Checker(known: known, registry: registry)
        checker.topLevelNames = Set(program.flatMap(Checker.declaredNames))
        try checker.block(program, isTopLevel: true)
    }

    /// The names a statement declares in its block.
    private static func declaredNames(_ stmt: Stmt) -> [String] {
        switch stmt {
        case .binding(let b): return b.pattern.names
        case .function(let f): return [f.name]
        case .guardStatement(let conditions, _, _):
            return conditions.compactMap { if case .optionalBinding(_, let name, _, _) = $0 { return name } else { return nil } }
        default: return []
        }
    }

    private mutating func block(_ stmts: [Stmt], isTopLevel: Bool = false) throws {
        if !isTopLevel { scopes.append([]) }
        defer { if !isTopLevel { scopes.removeLast() } }
        for case .function(let f) in stmts { declare(f.name) }
        for stmt in stmts { try statement(stmt) }
    }

    private mutating func declare(_ name: String) {
        scopes[scopes.count - 1].insert(name)
    }

    private func isDeclared(_ name: String) -> Bool {
        if scopes.contains(where: { $0.contains(name) }) { return true }
        return topLevelFunctionDepth != nil && topLevelNames.contains(name)
    }

    private mutating func statement(_ stmt: Stmt) throws {
        switch stmt {
        case .expression(let e):
            try expression(e)
        case .binding(let b):
            if let initializer = b.initializer { try expression(initializer) }
            b.pattern.names.forEach { declare($0) }
        case .function(let f):
            let outermost = topLevelFunctionDepth == nil && scopes.count == 1
            if outermost { topLevelFunctionDepth = scopes.count }
            defer { if outermost { topLevelFunctionDepth = nil } }
            for p in f.parameters { if let d = p.defaultValue { try expression(d) } }
            scopes.append(Set(f.parameters.map(\.name)))
            defer { scopes.removeLast() }
            try block(f.body)
        case .ifStatement(let s):
            try ifStatement(s)
        case .guardStatement(let conditions, let body, _):
            try block(body)
            try self.conditions(conditions)
        case .forIn(let pattern, let sequence, let whereClause, let body, _):
            try expression(sequence)
            scopes.append(Set(pattern.names))
            defer { scopes.removeLast() }
            if let whereClause { try expression(whereClause) }
            try block(body)
        case .whileLoop(let conditions, let body, _):
            scopes.append([])
            defer { scopes.removeLast() }
            try self.conditions(conditions)
            try block(body)
        case .repeatWhile(let body, let condition, _):
            try block(body)
            try expression(condition)
        case .returnStatement(let e, _):
            if let e { try expression(e) }
        case .breakStatement, .continueStatement, .importStatement:
            break
        }
    }

    private mutating func ifStatement(_ s: IfStatement) throws {
        scopes.append([])
        try conditions(s.conditions)
        try block(s.body)
        scopes.removeLast()
        if let elseBody = s.elseBody { try block(elseBody) }
    }

    /// Conditions in order; `if let` names are declared in the current scope.
    private mutating func conditions(_ conditions: [Condition]) throws {
        for condition in conditions {
            switch condition {
            case .expression(let e): try expression(e)
            case .optionalBinding(_, let name, let e, _):
                try expression(e)
                declare(name)
            }
        }
    }

    private mutating func expression(_ e: Expr) throws {
        switch e {
        case .integer, .float, .string, .bool, .nilLiteral, .operatorFunction:
            break
        case .interpolation(let parts, _):
            for case .value(let v) in parts { try expression(v) }
        case .name(let name, let location):
            try resolve(name, at: location)
        case .array(let elements, _), .tuple(let elements, _):
            for element in elements { try expression(element) }
        case .dictionary(let pairs, _):
            for pair in pairs {
                try expression(pair.key)
                try expression(pair.value)
            }
        case .member(let base, _, _):
            // `Model.llama` names a type; other members are checked when the value is known.
            if let base, !isTypeReference(base) { try expression(base) }
        case .tupleElement(let base, _, _), .forceUnwrap(let base, _), .prefix(_, let base, _):
            try expression(base)
        case .call(let callee, let arguments, let location):
            try call(callee, arguments, at: location)
        case .subscriptCall(let base, let arguments, _):
            try expression(base)
            for a in arguments { try expression(a.value) }
        case .closure(let c):
            let parameters = c.parameters.map { Set($0.map(\.name)) } ?? Set((0..<max(c.shorthandCount, 10)).map { "$\($0)" })
            scopes.append(parameters)
            defer { scopes.removeLast() }
            try block(c.body)
        case .binary(_, let lhs, let rhs, _), .assignment(let lhs, _, let rhs, _):
            try expression(lhs)
            try expression(rhs)
        case .ternary(let c, let a, let b, _):
            try expression(c)
            try expression(a)
            try expression(b)
        case .ifExpression(let s):
            try ifStatement(s)
        }
    }

    private func isTypeReference(_ e: Expr) -> Bool {
        guard case .name(let name, _) = e else { return false }
        return !isDeclared(name) && registry.types[name] != nil
    }

    private func resolve(_ name: String, at location: RecipeLocation) throws {
        if name == "_" || isDeclared(name) || registry.functions[name] != nil || registry.types[name] != nil { return }
        let candidates = scopes.flatMap { $0 } + registry.globalNames
        throw RecipeError(.unknownName, "unknown name `\(name)`\(Suggestions.didYouMean(name, in: candidates))", at: location)
    }

    /// Checks the callee and the arguments; for a builtin function or static member that no
    /// variable hides, checks the labels against every overload.
    private mutating func call(_ callee: Expr, _ arguments: [Argument], at location: RecipeLocation) throws {
        var builtins: [Builtin] = []
        switch callee {
        case .name(let name, _) where !isDeclared(name):
            builtins = registry.functions[name] ?? []
        case .member(.name(let type, _)?, let name, _) where !isDeclared(type) && registry.types[type] != nil:
            builtins = registry.staticMembers(name, of: type).filter { !$0.isProperty }
        default:
            break
        }
        try expression(callee)
        for a in arguments { try expression(a.value) }
        guard !builtins.isEmpty else { return }
        _ = try Interpreter.chooseOverload(builtins, arguments, at: location)
    }
}
