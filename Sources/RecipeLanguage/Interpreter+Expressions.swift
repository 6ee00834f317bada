extension Interpreter {
    /// Evaluates an expression. `expecting` is the type the context asks for, which types integer
    /// literals as `Double` and resolves implicit members such as `.bytes`, as Swift's inference does.
    func eval(_ e: Expr, _ scope: Scope, expecting: ValueType? = nil) throws -> Value {
        switch e {
        case .integer(let v, _):
            if expecting == .double || expecting == .optional(.double) { return .double(Double(v)) }
            return .int(v)
        case .float(let v, _):
            return .double(v)
        case .string(let s, _):
            return .string(s)
        case .bool(let b, _):
            return .bool(b)
        case .nilLiteral:
            return .none
        case .interpolation(let parts, _):
            var text = ""
            for part in parts {
                switch part {
                case .text(let t): text += t
                case .value(let e): text += try eval(e, scope).description
                }
                if text.count > Limits.collectionCount { throw RecipeError.tooLarge("string").located(at: e.location) }
            }
            do { try Limits.charge(bytes: text.utf8.count, for: "a string") } catch let error as RecipeError {
                throw error.located(at: e.location)
            }
            return .string(text)
        case .name(let name, let location):
            return try lookup(name, scope, at: location)
        case .array(let elements, let location):
            return try arrayLiteral(elements, scope, expecting: expecting, at: location)
        case .dictionary(let pairs, let location):
            return try dictionaryLiteral(pairs, scope, expecting: expecting, at: location)
        case .tuple(let elements, _):
            var types: [ValueType?] = Array(repeating: nil, count: elements.count)
            if case .tuple(let expected)? = expecting, expected.count == elements.count { types = expected }
            return .tuple(try zip(elements, types).map { try eval($0, scope, expecting: $1) })
        case .member(let base, let name, let location):
            return try memberValue(base, name, scope, expecting: expecting, at: location)
        case .tupleElement(let base, let index, let location):
            let value = try eval(base, scope)
            guard case .tuple(let elements) = value, elements.indices.contains(index) else {
                throw RecipeError(.type, "\(value.typeName) has no element .\(index)", at: location)
            }
            return elements[index]
        case .call(let callee, let arguments, let location):
            return try evalCall(callee, arguments, scope, expecting: expecting, at: location)
        case .subscriptCall(let base, let arguments, let location):
            return try subscriptValue(try eval(base, scope), arguments, scope, at: location)
        case .closure(let decl):
            return .function(makeClosure(decl, in: scope))
        case .binary(let op, let lhs, let rhs, let location):
            return try evalBinary(op, lhs, rhs, scope, expecting: expecting, at: location)
        case .prefix(let op, let operand, let location):
            let value = try eval(operand, scope, expecting: op == .not ? .bool : expecting)
            return try Operators.prefix(op, value).orThrow(at: location)
        case .ternary(let condition, let then, let otherwise, _):
            return try evalCondition(condition, scope)
                ? eval(then, scope, expecting: expecting) : eval(otherwise, scope, expecting: expecting)
        case .assignment(let target, let op, let value, let location):
            try assign(target, op, value, scope, at: location)
            return .void
        case .forceUnwrap(let inner, let location):
            let value = try eval(inner, scope)
            if value.isNone { throw RecipeError(.runtime, "found nil while unwrapping with `!`", at: location) }
            return value
        case .operatorFunction(let op, _):
            return .function(
                Function(name: op.rawValue, parameterCount: 2) { values in
                    guard values.count == 2 else { throw RecipeError(.runtime, "`\(op.rawValue)` takes 2 arguments") }
                    return try Operators.binary(op, values[0], values[1], promote: true).orThrow(at: nil)
                })
        case .ifExpression(let s):
            return try ifExpression(s, scope, expecting: expecting)
        }
    }

    // MARK: - Names

    func lookup(_ name: String, _ scope: Scope, at location: RecipeLocation) throws -> Value {
        if let variable = scope.lookup(name) {
            guard variable.isInitialized else {
                throw RecipeError(.runtime, "`\(name)` is used before it is given a value", at: location)
            }
            return variable.value
        }
        if name == "_" { throw RecipeError(.syntax, "`_` can only be assigned to", at: location) }
        if let builtins = registry.functions[name] {
            return .function(builtinFunction(builtins, receiver: nil, at: location))
        }
        if registry.types[name] != nil {
            let members = registry.staticMemberNames(of: name).prefix(6).map { "\(name).\($0)" }
            let hint = members.isEmpty ? "" : "; use a member such as " + members.map { "`\($0)`" }.joined(separator: ", ")
            throw RecipeError(.type, "`\(name)` is a type, not a value\(hint)", at: location)
        }
        throw unknownName(name, scope, at: location)
    }

    func unknownName(_ name: String, _ scope: Scope, at location: RecipeLocation) -> RecipeError {
        let candidates = scope.visibleNames + registry.globalNames
        return RecipeError(
            .unknownName, "unknown name `\(name)`\(Suggestions.didYouMean(name, in: candidates))",
            at: location)
    }

    /// Whether `expr` names a registry type (and no variable hides it).
    func typeName(_ expr: Expr, _ scope: Scope) -> String? {
        guard case .name(let name, _) = expr, scope.lookup(name) == nil, registry.types[name] != nil else { return nil }
        return name
    }

    // MARK: - Members

    func memberValue(
        _ base: Expr?, _ name: String, _ scope: Scope, expecting: ValueType?,
        at location: RecipeLocation
    ) throws -> Value {
        // `.bytes`: a static member of the type the context expects.
        guard let base else {
            guard let type = expecting?.implicitMemberType else {
                throw RecipeError(
                    .type, "cannot tell which type `.\(name)` belongs to; write it as `Type.\(name)`",
                    at: location)
            }
            return try staticMember(type, name, at: location)
        }
        if let type = typeName(base, scope) { return try staticMember(type, name, at: location) }
        let receiver = try eval(base, scope)
        let all = registry.instanceMembers(name, of: receiver.memberTypeName)
        let properties = all.filter(\.isProperty)
        let members = properties.isEmpty ? all : properties
        guard let first = members.first else { throw noMember(receiver, name, at: location) }
        if first.isProperty {
            return try invoke(first, Arguments(builtin: first, receiver: receiver, values: [:], location: location))
        }
        return .function(builtinFunction(members, receiver: receiver, at: location))
    }

    func staticMember(_ type: String, _ name: String, at location: RecipeLocation) throws -> Value {
        let members = registry.staticMembers(name, of: type)
        guard let first = members.first else {
            let hint = Suggestions.didYouMean(name, in: registry.staticMemberNames(of: type))
            throw RecipeError(.unknownName, "type `\(type)` has no member `\(name)`\(hint)", at: location)
        }
        if first.isProperty {
            return try invoke(first, Arguments(builtin: first, receiver: nil, values: [:], location: location))
        }
        return .function(builtinFunction(members, receiver: nil, at: location))
    }

    func noMember(_ value: Value, _ name: String, at location: RecipeLocation) -> RecipeError {
        let hint = Suggestions.didYouMean(name, in: registry.instanceMemberNames(of: value.memberTypeName))
        return RecipeError(
            .unknownName, "value of type `\(value.typeName)` has no member `\(name)`\(hint)",
            at: location)
    }

    // MARK: - Literals

    private func arrayLiteral(
        _ elements: [Expr], _ scope: Scope, expecting: ValueType?,
        at location: RecipeLocation
    ) throws -> Value {
        var elementType: ValueType?
        switch expecting {
        case .array(let t)?, .optional(.array(let t))?: elementType = t
        default: elementType = nil
        }
        var values = try elements.map { try eval($0, scope, expecting: elementType) }
        if elementType == nil {
            values = try unify(values, elements, what: "array", at: location)
        }
        try checkNesting(values, at: location)
        return .array(values)
    }

    private func dictionaryLiteral(
        _ pairs: [(key: Expr, value: Expr)], _ scope: Scope, expecting: ValueType?,
        at location: RecipeLocation
    ) throws -> Value {
        var keyType: ValueType?, valueType: ValueType?
        switch expecting {
        case .dictionary(let k, let v)?, .optional(.dictionary(let k, let v))?: (keyType, valueType) = (k, v)
        default: break
        }
        var keys = try pairs.map { try eval($0.key, scope, expecting: keyType) }
        var values = try pairs.map { try eval($0.value, scope, expecting: valueType) }
        if keyType == nil {
            keys = try unify(keys, pairs.map(\.key), what: "dictionary", at: location)
            values = try unify(values, pairs.map(\.value), what: "dictionary", at: location)
        }
        try checkNesting(values, at: location)
        var d = RecipeDictionary()
        for (k, v) in zip(keys, values) {
            if try located(at: location, { try d.value(for: k) }) != nil {
                throw RecipeError(.runtime, "dictionary literal has the key \(k.debugDescription) twice", at: location)
            }
            try located(at: location) { try d.set(k, v) }
        }
        return .dictionary(d)
    }

    /// Integer literals among doubles become doubles, as Swift types `[1, 2.5]` as `[Double]`.
    /// Other mixtures stay as they are (Swift accepts them where the context asks for `[Any]`).
    private func unify(_ values: [Value], _ exprs: [Expr], what: String, at location: RecipeLocation) throws -> [Value] {
        guard values.contains(where: { if case .double = $0 { return true } else { return false } }) else { return values }
        return zip(values, exprs).map { value, expr -> Value in
            if case .int(let v) = value, expr.isIntegerLiteral { return .double(Double(v)) }
            return value
        }
    }

    func checkNesting(_ values: [Value], at location: RecipeLocation?) throws {
        for v in values {
            switch v {
            case .array, .dictionary, .tuple:
                if v.nestingDepth >= Limits.nestingDepth {
                    throw RecipeError(.limit, "collections nest deeper than \(Limits.nestingDepth) levels", at: location)
                }
            default: continue
            }
        }
    }

    // MARK: - Operators

    private func evalBinary(
        _ op: BinaryOperator, _ lhs: Expr, _ rhs: Expr, _ scope: Scope, expecting: ValueType?,
        at location: RecipeLocation
    ) throws -> Value {
        switch op {
        case .and:
            guard try evalCondition(lhs, scope) else { return .bool(false) }
            return .bool(try evalCondition(rhs, scope))
        case .or:
            if try evalCondition(lhs, scope) { return .bool(true) }
            return .bool(try evalCondition(rhs, scope))
        case .nilCoalescing:
            let left = try eval(lhs, scope, expecting: expecting.map { .optional($0) })
            return left.isNone ? try eval(rhs, scope, expecting: expecting) : left
        default:
            break
        }
        let operandType: ValueType? = op.isArithmetic && (expecting == .double || expecting == .int) ? expecting : nil
        // An implicit member on one side (`tokenizer == .bytes`) takes its type from the other side.
        var left: Value, right: Value
        if case .member(nil, _, _) = lhs {
            right = try eval(rhs, scope, expecting: operandType)
            left = try eval(lhs, scope, expecting: right.valueType)
        } else {
            left = try eval(lhs, scope, expecting: operandType)
            right = try eval(rhs, scope, expecting: operandType ?? (op.isComparison ? left.valueType : nil))
        }
        // An integer literal beside a Double is a Double, as Swift types `x * 2` when `x` is a Double.
        if case .int(let v) = left, case .double = right, lhs.isIntegerLiteral { left = .double(Double(v)) }
        if case .int(let v) = right, case .double = left, rhs.isIntegerLiteral { right = .double(Double(v)) }
        let result = try Operators.binary(op, left, right, promote: false).orThrow(at: location)
        if case .array(let elements) = result { try checkNesting(elements, at: location) }
        return result
    }

    private func ifExpression(_ s: IfStatement, _ scope: Scope, expecting: ValueType?) throws -> Value {
        let conditionScope = Scope(parent: scope)
        let branch = try test(s.conditions, in: conditionScope) ? s.body : s.elseBody
        guard let branch else {
            throw RecipeError(.syntax, "an `if` used as a value needs an `else`", at: s.location)
        }
        switch branch.first {
        case .expression(let e)? where branch.count == 1:
            return try eval(e, conditionScope, expecting: expecting)
        case .ifStatement(let nested)? where branch.count == 1:
            return try ifExpression(nested, conditionScope, expecting: expecting)
        default:
            throw RecipeError(.syntax, "each branch of an `if` used as a value must be one expression", at: s.location)
        }
    }

    // MARK: - Subscripts

    func subscriptValue(
        _ container: Value, _ arguments: [Argument], _ scope: Scope,
        at location: RecipeLocation
    ) throws -> Value {
        if case .opaque = container {
            let members = registry.instanceMembers("subscript", of: container.memberTypeName)
            guard !members.isEmpty else { throw noSubscript(container, at: location) }
            return try callBuiltins(members, receiver: container, arguments, scope, at: location).result
        }
        let (index, defaultValue) = try subscriptIndex(arguments, scope, at: location)
        switch (container, index) {
        case (.array(let elements), .int(let i)):
            guard elements.indices.contains(i) else {
                throw RecipeError(
                    .runtime, "index \(i) is out of range for an array of \(elements.count) elements",
                    at: location)
            }
            return elements[i]
        case (.array(let elements), .range(let lo, let hi)):
            guard lo >= 0, hi <= elements.count, lo <= hi else {
                throw RecipeError(
                    .runtime, "range \(lo)..<\(hi) is out of range for an array of \(elements.count) elements",
                    at: location)
            }
            return .array(Array(elements[lo..<hi]))
        case (.dictionary(let d), _):
            return try located(at: location) { try d.value(for: index) } ?? defaultValue ?? .none
        case (.string, _):
            throw RecipeError(.type, "a String cannot be indexed by number; use `Array(text)[i]`", at: location)
        case (.tuple, _):
            throw RecipeError(.type, "use `.0`, `.1` ... to read a tuple's elements", at: location)
        default:
            throw noSubscript(container, at: location)
        }
    }

    func noSubscript(_ container: Value, at location: RecipeLocation) -> RecipeError {
        RecipeError(.type, "value of type `\(container.typeName)` cannot be indexed with `[...]`", at: location)
    }

    /// The index of `a[i]` and the default of `d[key, default: v]`.
    func subscriptIndex(
        _ arguments: [Argument], _ scope: Scope,
        at location: RecipeLocation
    ) throws -> (Value, Value?) {
        guard let first = arguments.first, first.label == nil else {
            throw RecipeError(.syntax, "a subscript takes one index: `a[i]`", at: location)
        }
        var defaultValue: Value?
        if arguments.count == 2, arguments[1].label == "default" {
            defaultValue = try eval(arguments[1].value, scope)
        } else if arguments.count != 1 {
            throw RecipeError(.syntax, "a subscript takes one index: `a[i]` or `d[key, default: value]`", at: location)
        }
        return (try eval(first.value, scope), defaultValue)
    }

    // MARK: - Assignment

    private func assign(
        _ target: Expr, _ op: BinaryOperator?, _ valueExpr: Expr, _ scope: Scope,
        at location: RecipeLocation
    ) throws {
        if case .name("_", _) = target {
            _ = try eval(valueExpr, scope)
            return
        }
        let expected = try declaredType(of: target, scope)
        var value = try eval(valueExpr, scope, expecting: op == nil ? expected : (expected == .double ? .double : nil))
        if let op {
            let current = try eval(target, scope)
            if case .int(let v) = value, case .double = current, valueExpr.isIntegerLiteral { value = .double(Double(v)) }
            value = try Operators.binary(op, current, value, promote: false).orThrow(at: location)
        }
        try store(value, into: target, scope, integerLiteral: op == nil && valueExpr.isIntegerLiteral, at: location)
    }

    private func declaredType(of target: Expr, _ scope: Scope) throws -> ValueType? {
        if case .name(let name, _) = target { return scope.lookup(name)?.type }
        return nil
    }

    /// Writes `value` into an assignable expression: a variable, `a[i]`, `d[key]`, `t.0`.
    func store(
        _ value: Value, into target: Expr, _ scope: Scope, integerLiteral: Bool = false,
        at location: RecipeLocation
    ) throws {
        switch target {
        case .name(let name, let nameLocation):
            guard let variable = scope.lookup(name) else { throw unknownName(name, scope, at: nameLocation) }
            if variable.isConstant && variable.isInitialized {
                throw RecipeError(
                    .type, "cannot assign to `\(name)`: it is a `let` constant; declare it with `var`",
                    at: nameLocation)
            }
            var stored = value
            if let type = variable.type {
                guard let converted = type.coerce(value, integerLiteral: integerLiteral) else {
                    throw RecipeError(
                        .type, "cannot assign a value of type \(value.typeName) to `\(name)` of type \(type)",
                        at: location)
                }
                stored = converted
            }
            scope.store(name, stored)
        case .subscriptCall(let base, let arguments, let subscriptLocation):
            let container = try eval(base, scope)
            let (index, _) = try subscriptIndex(arguments, scope, at: subscriptLocation)
            let updated: Value
            switch (container, index) {
            case (.array(var elements), .int(let i)):
                guard elements.indices.contains(i) else {
                    throw RecipeError(
                        .runtime, "index \(i) is out of range for an array of \(elements.count) elements",
                        at: subscriptLocation)
                }
                try checkNesting([value], at: location)
                elements[i] = value
                updated = .array(elements)
            case (.dictionary(var d), _):
                if value.isNone {
                    try located(at: subscriptLocation) { try d.remove(index) }
                } else {
                    try checkNesting([value], at: location)
                    try located(at: subscriptLocation) { try d.set(index, value) }
                }
                updated = .dictionary(d)
            default:
                throw RecipeError(
                    .type, "cannot assign through `[...]` on a value of type `\(container.typeName)`",
                    at: subscriptLocation)
            }
            try store(updated, into: base, scope, at: location)
        case .tupleElement(let base, let index, let elementLocation):
            guard case .tuple(var elements) = try eval(base, scope), elements.indices.contains(index) else {
                throw RecipeError(.type, "no tuple element .\(index) to assign", at: elementLocation)
            }
            elements[index] = value
            try store(.tuple(elements), into: base, scope, at: location)
        case .member(_, let name, let memberLocation):
            throw RecipeError(.unsupported, "cannot assign to the property `\(name)`", at: memberLocation)
        default:
            throw RecipeError(.syntax, "cannot assign to this expression", at: location)
        }
    }
}

extension Result where Failure == RecipeError {
    func orThrow(at location: RecipeLocation?) throws -> Success {
        switch self {
        case .success(let v): return v
        case .failure(let e): throw e.located(at: location)
        }
    }
}

/// Runs a throwing call and locates any `RecipeError` it raises.
func located<T>(at location: RecipeLocation?, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as RecipeError { throw error.located(at: location) }
}
