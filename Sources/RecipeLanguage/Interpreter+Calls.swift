extension Interpreter {
    /// A parameter as argument matching sees it, for builtins and recipe functions alike.
    struct ParameterSpec {
        var label: String?
        var name: String
        var type: ValueType
        var isOptional: Bool
        var isVariadic: Bool

        init(_ p: Builtin.Parameter) {
            (label, name, type, isOptional, isVariadic) = (p.label, p.name, p.type, p.isOptional, p.isVariadic)
        }

        init(_ p: FunctionDecl.Parameter) {
            (label, name, type, isOptional, isVariadic) = (
                p.label, p.name, p.type, p.defaultValue != nil || p.isVariadic,
                p.isVariadic
            )
        }

        var shownLabel: String { label.map { "`\($0):`" } ?? "`\(name)`" }
    }

    // MARK: - Calls

    func evalCall(
        _ callee: Expr, _ arguments: [Argument], _ scope: Scope, expecting: ValueType?,
        at location: RecipeLocation
    ) throws -> Value {
        try tick(location)
        switch callee {
        case .name(let name, let nameLocation):
            if let variable = scope.lookup(name) {
                guard case .function(let f) = variable.value else {
                    throw RecipeError(
                        .type, "`\(name)` is a value of type \(variable.value.typeName), not a function",
                        at: nameLocation)
                }
                return try callFunction(f, arguments, scope, at: location)
            }
            if let builtins = registry.functions[name] {
                return try callBuiltins(builtins, receiver: nil, arguments, scope, at: location).result
            }
            _ = try lookup(name, scope, at: nameLocation)
            throw unknownName(name, scope, at: nameLocation)
        case .member(nil, let name, let memberLocation):
            guard let type = expecting?.implicitMemberType else {
                throw RecipeError(
                    .type, "cannot tell which type `.\(name)(...)` belongs to; write it as `Type.\(name)(...)`",
                    at: memberLocation)
            }
            return try callStatic(type, name, arguments, scope, at: memberLocation)
        case .member(let base?, let name, let memberLocation):
            if let type = typeName(base, scope) { return try callStatic(type, name, arguments, scope, at: memberLocation) }
            return try callMethod(base, name, arguments, scope, at: memberLocation)
        default:
            let value = try eval(callee, scope)
            guard case .function(let f) = value else {
                throw RecipeError(.type, "a value of type \(value.typeName) cannot be called", at: location)
            }
            return try callFunction(f, arguments, scope, at: location)
        }
    }

    private func callStatic(
        _ type: String, _ name: String, _ arguments: [Argument], _ scope: Scope,
        at location: RecipeLocation
    ) throws -> Value {
        let members = registry.staticMembers(name, of: type)
        guard let first = members.first else { return try staticMember(type, name, at: location) }
        if first.isProperty {
            let value = try staticMember(type, name, at: location)
            guard case .function(let f) = value else {
                throw RecipeError(.type, "`\(type).\(name)` is a value of type \(value.typeName), not a function", at: location)
            }
            return try callFunction(f, arguments, scope, at: location)
        }
        return try callBuiltins(members, receiver: nil, arguments, scope, at: location).result
    }

    private func callMethod(
        _ base: Expr, _ name: String, _ arguments: [Argument], _ scope: Scope,
        at location: RecipeLocation
    ) throws -> Value {
        let receiver = try eval(base, scope)
        let all = registry.instanceMembers(name, of: receiver.memberTypeName)
        // `xs.first(where:)` is a method although `xs.first` is a property.
        let methods = all.filter { !$0.isProperty }
        let members = methods.isEmpty ? all : methods
        guard let first = members.first else { throw noMember(receiver, name, at: location) }
        if first.isProperty {
            let value = try invoke(first, Arguments(builtin: first, receiver: receiver, values: [:], location: location))
            guard case .function(let f) = value else {
                throw RecipeError(
                    .type, "`\(name)` is a property of type \(value.typeName); remove the parentheses",
                    at: location)
            }
            return try callFunction(f, arguments, scope, at: location)
        }
        if first.isMutating { try checkMutable(base, scope, member: name) }
        let (result, updated) = try callBuiltins(members, receiver: receiver, arguments, scope, at: location)
        // Literal arguments were typed without the variable's element type: `xs.append(1)` on a `[Double]`.
        if first.isMutating, let updated { try store(updated, into: base, scope, integerLiteral: true, at: location) }
        return result
    }

    /// Refuses a mutating method on a `let` constant or a temporary, as Swift does.
    private func checkMutable(_ base: Expr, _ scope: Scope, member: String) throws {
        switch base {
        case .name(let name, let location):
            if let v = scope.lookup(name), v.isConstant {
                throw RecipeError(
                    .type, "cannot use mutating member `\(member)` on `\(name)`: it is a `let` constant; declare it with `var`",
                    at: location)
            }
        case .subscriptCall(let inner, _, _), .tupleElement(let inner, _, _):
            try checkMutable(inner, scope, member: member)
        default:
            throw RecipeError(
                .type, "cannot use mutating member `\(member)` on a value that is not a variable",
                at: base.location)
        }
    }

    /// Calls a function value with labeled arguments.
    func callFunction(_ f: Function, _ arguments: [Argument], _ scope: Scope, at location: RecipeLocation) throws -> Value {
        switch f.kind {
        case .user(let decl):
            let specs = decl.parameters.map(ParameterSpec.init)
            let bound = try match(specs, arguments, callee: decl.name, at: location)
            var values: [Value] = []
            for (i, p) in decl.parameters.enumerated() {
                if let value = try evalBound(specs[i], bound[i], arguments, scope, callee: decl.name) {
                    values.append(value)
                } else if let defaultValue = p.defaultValue {
                    values.append(try eval(defaultValue, globals, expecting: p.type))
                } else {
                    values.append(.array([]))
                }
            }
            return try located(at: location) { try f.call(values) }
        case .builtin(let builtins, let receiver):
            return try callBuiltins(builtins, receiver: receiver, arguments, scope, at: location).result
        case .closure, .native:
            if let labeled = arguments.first(where: { $0.label != nil && !$0.isTrailingClosure }) {
                throw RecipeError(
                    .label, "`\(f.name)` takes its arguments without labels; remove `\(labeled.label!):`",
                    at: labeled.location)
            }
            let values = try arguments.map { try eval($0.value, scope) }
            return try located(at: location) { try f.call(values) }
        }
    }

    /// Matches, evaluates and checks the arguments of a builtin call, then runs it. Returns the
    /// result and, for a mutating method, the updated receiver.
    func callBuiltins(
        _ builtins: [Builtin], receiver: Value?, _ arguments: [Argument], _ scope: Scope,
        at location: RecipeLocation
    ) throws -> (result: Value, receiver: Value?) {
        let (builtin, bound) = try Interpreter.chooseOverload(builtins, arguments, at: location)
        var values: [String: Value] = [:]
        for (i, p) in builtin.parameters.enumerated() {
            values[p.name] =
                try evalBound(ParameterSpec(p), bound[i], arguments, scope, callee: builtin.displayName)
                ?? (p.isVariadic ? .array([]) : (p.defaultValue ?? .none))
        }
        let args = Arguments(builtin: builtin, receiver: receiver, values: values, location: location)
        let result = try invoke(builtin, args)
        return (result, args.receiver)
    }

    /// The first overload whose labels fit the arguments (overloads differ by labels, like
    /// `String(_:)` and `String(repeating:count:)`), with the argument indices of each parameter.
    static func chooseOverload(
        _ builtins: [Builtin], _ arguments: [Argument],
        at location: RecipeLocation
    ) throws -> (Builtin, [[Int]]) {
        var errors: [(Builtin, Error)] = []
        for b in builtins {
            do {
                return (b, try matchArguments(b.parameters.map(ParameterSpec.init), arguments, callee: b.displayName, at: location))
            } catch {
                errors.append((b, error))
            }
        }
        // Report against the overload that shares the most labels with the call.
        let labels = Set(arguments.compactMap(\.label))
        let (closest, error) = errors.max { a, b in
            labels.intersection(a.0.parameters.compactMap(\.label)).count < labels.intersection(b.0.parameters.compactMap(\.label)).count
        }!
        if builtins.count > 1, let error = error as? RecipeError, error.kind == .label || error.kind == .missingArgument {
            let forms = builtins.map { "`\($0.signature)`" }.joined(separator: " or ")
            throw RecipeError(error.kind, "\(error.message) (`\(closest.displayName)` is called as \(forms))", at: error.location)
        }
        throw error
    }

    /// Runs a builtin's implementation, locating its errors at the call.
    func invoke(_ builtin: Builtin, _ arguments: Arguments) throws -> Value {
        for p in builtin.parameters {
            if let problem = p.problem(with: arguments[p.name]) {
                throw RecipeError(.runtime, "`\(builtin.displayName)`: \(problem)", at: arguments.location)
            }
        }
        do {
            let result = try builtin.implementation(arguments, host)
            try Limits.charge(result)
            return result
        } catch let error as RecipeError {
            throw error.located(at: arguments.location)
        } catch {
            throw RecipeError(.runtime, "`\(builtin.displayName)` failed: \(error)", at: arguments.location)
        }
    }

    /// Evaluates the arguments bound to one parameter and checks their type; nil when none were passed.
    private func evalBound(
        _ p: ParameterSpec, _ indices: [Int], _ arguments: [Argument], _ scope: Scope,
        callee: String
    ) throws -> Value? {
        guard !indices.isEmpty || p.isVariadic else { return nil }
        var values: [Value] = []
        for i in indices {
            let a = arguments[i]
            let value = try eval(a.value, scope, expecting: p.type)
            guard let converted = p.type.coerce(value, integerLiteral: a.value.isIntegerLiteral) else {
                throw RecipeError(
                    .type, "`\(callee)` argument \(p.shownLabel) expects \(p.type), found \(value.typeName)",
                    at: a.value.location)
            }
            values.append(converted)
        }
        return p.isVariadic ? .array(values) : values.first
    }

    /// Matches arguments to parameters by label, as Swift does: in order, each labeled parameter
    /// given with its label or left to its default. Returns the argument indices of each parameter.
    func match(
        _ params: [ParameterSpec], _ args: [Argument], callee: String,
        at location: RecipeLocation
    ) throws -> [[Int]] {
        try Interpreter.matchArguments(params, args, callee: callee, at: location)
    }

    /// `match` without an interpreter, for the checker that runs before a recipe does.
    static func matchArguments(
        _ params: [ParameterSpec], _ args: [Argument], callee: String,
        at location: RecipeLocation
    ) throws -> [[Int]] {
        let labels = params.compactMap(\.label)
        for a in args {
            guard let label = a.label, !labels.contains(label) else { continue }
            var hint = Suggestions.didYouMean(label, in: labels)
            if hint.isEmpty {
                hint =
                    labels.isEmpty
                    ? "; it takes no labeled arguments"
                    : "; its labels are " + labels.map { "`\($0)`" }.joined(separator: ", ")
            }
            throw RecipeError(.label, "`\(callee)` has no argument `\(label)`\(hint)", at: a.location)
        }
        var bound = Array(repeating: [Int](), count: params.count)
        var i = 0
        for (pi, p) in params.enumerated() {
            if p.isVariadic {
                while i < args.count, args[i].label == (bound[pi].isEmpty ? p.label : nil),
                    !args[i].isTrailingClosure || p.type.isFunction
                {
                    bound[pi].append(i)
                    i += 1
                }
                continue
            }
            if i < args.count {
                let a = args[i]
                // A trailing closure fills the next function parameter, whatever its label.
                let fits =
                    a.isTrailingClosure
                    ? p.type.isFunction && (a.label == nil || a.label == p.label) : a.label == p.label
                if fits {
                    bound[pi] = [i]
                    i += 1
                    continue
                }
            }
            if p.isOptional { continue }
            if i < args.count {
                let a = args[i]
                if a.label == nil, let label = p.label, !a.isTrailingClosure {
                    throw RecipeError(.label, "missing argument label `\(label):` in call to `\(callee)`", at: a.location)
                }
                if let label = a.label, p.label == nil, !params[(pi + 1)...].contains(where: { $0.label == label }) {
                    throw RecipeError(
                        .label, "`\(callee)` takes its \(ordinal(pi)) argument without a label; remove `\(label):`",
                        at: a.location)
                }
            }
            throw RecipeError(
                .missingArgument, "`\(callee)` is missing its argument \(p.shownLabel) of type \(p.type)",
                at: location)
        }
        if i < args.count {
            let a = args[i]
            if let label = a.label, let target = params.firstIndex(where: { $0.label == label }) {
                if !bound[target].isEmpty {
                    throw RecipeError(.label, "`\(callee)` is given the argument `\(label)` twice", at: a.location)
                }
                if let later = params.indices.first(where: { $0 > target && !bound[$0].isEmpty }) {
                    throw RecipeError(
                        .label, "argument `\(label)` must come before \(params[later].shownLabel) in `\(callee)`",
                        at: a.location)
                }
            }
            let given = args.count, takes = params.count
            throw RecipeError(
                .label, "`\(callee)` takes \(takes) argument\(takes == 1 ? "" : "s") but \(given) were given",
                at: a.location)
        }
        return bound
    }

    private static func ordinal(_ i: Int) -> String {
        ["first", "second", "third", "fourth", "fifth"].indices.contains(i)
            ? ["first", "second", "third", "fourth", "fifth"][i] : "\(i + 1)th"
    }

    // MARK: - Running functions and closures

    /// Runs a recipe `func` with its argument values in parameter order.
    func callUser(_ decl: FunctionDecl, _ definingScope: Scope, _ values: [Value], at location: RecipeLocation) throws -> Value {
        guard values.count == decl.parameters.count else {
            throw RecipeError(
                .label, "`\(decl.name)` takes \(decl.parameters.count) arguments but \(values.count) were given",
                at: location)
        }
        try enterCall(location)
        defer { callDepth -= 1 }
        let scope = Scope(parent: definingScope)
        for (p, v) in zip(decl.parameters, values) {
            let type: ValueType = p.isVariadic ? .array(p.type) : p.type
            guard let converted = type.coerce(v) else {
                throw RecipeError(.type, "`\(decl.name)` argument `\(p.name)` expects \(type), found \(v.typeName)", at: location)
            }
            scope.declare(p.name, converted, constant: true, type: type)
        }
        returnTypes.append(decl.returns)
        defer { returnTypes.removeLast() }
        var result: Value = .void
        if decl.returns != .void, decl.body.count == 1, case .expression(let e) = decl.body[0] {
            result = try eval(e, scope, expecting: decl.returns)
        } else {
            switch try execBlock(decl.body, scope) {
            case .returned(let v): result = v
            case .normal:
                if decl.returns != .void {
                    throw RecipeError(.type, "`\(decl.name)` ended without returning a \(decl.returns)", at: decl.location)
                }
            case .breakLoop, .continueLoop:
                throw RecipeError(.syntax, "`break` and `continue` are only allowed inside a loop", at: decl.location)
            }
        }
        if decl.returns == .void { return .void }
        guard let converted = decl.returns.coerce(result) else {
            throw RecipeError(.type, "`\(decl.name)` must return \(decl.returns), found \(result.typeName)", at: decl.location)
        }
        return converted
    }

    func makeClosure(_ decl: ClosureDecl, in scope: Scope) -> Function {
        Function(name: "closure", parameterCount: decl.parameters?.count, kind: .closure(decl)) { [weak self] values in
            guard let self else { throw RecipeError(.runtime, "this closure belongs to a session that has ended") }
            return try self.callClosure(decl, scope, values)
        }
    }

    private func callClosure(_ decl: ClosureDecl, _ definingScope: Scope, _ values: [Value]) throws -> Value {
        try enterCall(decl.location)
        defer { callDepth -= 1 }
        let scope = Scope(parent: definingScope)
        if let parameters = decl.parameters {
            guard parameters.count == values.count else {
                throw RecipeError(
                    .type, "this closure takes \(parameters.count) argument\(parameters.count == 1 ? "" : "s") but is called with \(values.count)",
                    at: decl.location)
            }
            for (p, v) in zip(parameters, values) {
                var value = v
                if let type = p.type {
                    guard let converted = type.coerce(v) else {
                        throw RecipeError(
                            .type, "closure parameter `\(p.name)` expects \(type), found \(v.typeName)",
                            at: decl.location)
                    }
                    value = converted
                }
                if p.name != "_" { scope.declare(p.name, value, constant: true, type: p.type) }
            }
        } else {
            guard values.count >= decl.shorthandCount else {
                throw RecipeError(
                    .type, "this closure uses $\(decl.shorthandCount - 1) but is called with \(values.count) argument\(values.count == 1 ? "" : "s")",
                    at: decl.location)
            }
            for (i, v) in values.enumerated() { scope.declare("$\(i)", v, constant: true, type: nil) }
        }
        returnTypes.append(nil)
        defer { returnTypes.removeLast() }
        if decl.body.count == 1, case .expression(let e) = decl.body[0] {
            return try eval(e, scope)
        }
        switch try execBlock(decl.body, scope) {
        case .returned(let v): return v
        case .normal: return .void
        case .breakLoop, .continueLoop:
            throw RecipeError(.syntax, "`break` and `continue` are only allowed inside a loop", at: decl.location)
        }
    }

    private func enterCall(_ location: RecipeLocation) throws {
        try tick(location)
        guard callDepth < maximumCallDepth else {
            throw RecipeError(.limit, "calls nest deeper than \(maximumCallDepth) levels (runaway recursion?)", at: location)
        }
        callDepth += 1
    }

    /// A builtin (or a builtin method bound to its receiver) as a function value, called positionally.
    func builtinFunction(_ builtins: [Builtin], receiver: Value?, at location: RecipeLocation) -> Function {
        let first = builtins[0]
        let fixed = first.parameters.contains(where: \.isVariadic) ? nil : first.parameters.count
        return Function(name: first.displayName, parameterCount: fixed, kind: .builtin(builtins, receiver: receiver)) {
            [weak self] values in
            guard let self else { throw RecipeError(.runtime, "`\(first.displayName)` belongs to a session that has ended") }
            let builtin =
                builtins.first { b in
                    values.count <= b.parameters.count || b.parameters.contains(where: \.isVariadic)
                } ?? first
            let args = Arguments(builtin, receiver: receiver, values)
            for p in builtin.parameters where !p.isVariadic {
                let v = args[p.name]
                if v.isNone && !p.isOptional {
                    throw RecipeError(.missingArgument, "`\(builtin.displayName)` is missing its argument `\(p.name)`")
                }
                let fallback: Value? = v.isNone && p.isOptional ? v : nil
                guard let converted = p.type.coerce(v) ?? fallback else {
                    throw RecipeError(.type, "`\(builtin.displayName)` argument `\(p.name)` expects \(p.type), found \(v.typeName)")
                }
                args.values[p.name] = converted
            }
            if values.count > builtin.parameters.count && !builtin.parameters.contains(where: \.isVariadic) {
                throw RecipeError(.label, "`\(builtin.displayName)` takes \(builtin.parameters.count) arguments but \(values.count) were given")
            }
            return try self.invoke(builtin, args)
        }
    }
}

extension Builtin {
    /// The name used in messages: `seed`, `Model.llama`, `append`.
    var displayName: String {
        switch kind {
        case .staticFunction, .staticProperty: return qualifiedName
        default: return name
        }
    }
}
