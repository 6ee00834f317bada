/// The operators on values, with Swift's rules: no implicit Int/Double mixing, and overflow,
/// division by zero and bad ranges reported as errors where Swift would trap.
enum Operators {
    typealias Outcome = Result<Value, RecipeError>

    static func prefix(_ op: PrefixOperator, _ value: Value) -> Outcome {
        switch (op, value) {
        case (.negate, .int(let v)):
            let (r, overflow) = Int(0).subtractingReportingOverflow(v)
            return overflow ? .failure(overflowError("-")) : .success(.int(r))
        case (.negate, .double(let v)): return .success(.double(-v))
        case (.plus, .int), (.plus, .double): return .success(value)
        case (.not, .bool(let b)): return .success(.bool(!b))
        default:
            return .failure(RecipeError(.type, "unary operator `\(op.rawValue)` cannot be applied to \(value.typeName)"))
        }
    }

    /// `lhs op rhs`. With `promote`, an Int meeting a Double becomes a Double (used when an operator
    /// is passed as a function, where Swift would have typed the literals by context).
    static func binary(_ op: BinaryOperator, _ lhs: Value, _ rhs: Value, promote: Bool) -> Outcome {
        var lhs = lhs, rhs = rhs
        if promote {
            if case .int(let v) = lhs, case .double = rhs { lhs = .double(Double(v)) }
            if case .int(let v) = rhs, case .double = lhs { rhs = .double(Double(v)) }
        }
        switch op {
        case .add, .subtract, .multiply, .divide, .remainder:
            return arithmetic(op, lhs, rhs)
        case .equal, .notEqual:
            if case .int = lhs, case .double = rhs { return mixed(op, lhs, rhs) }
            if case .double = lhs, case .int = rhs { return mixed(op, lhs, rhs) }
            do {
                let equal = try lhs.isEqual(to: rhs)
                return .success(.bool(op == .equal ? equal : !equal))
            } catch let error as RecipeError {
                return .failure(error)
            } catch {
                return .failure(RecipeError(.runtime, "\(error)"))
            }
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            return compare(op, lhs, rhs)
        case .halfOpenRange, .closedRange:
            guard case .int(let lo) = lhs, case .int(var hi) = rhs else {
                return .failure(RecipeError(.type, "ranges are made of Int bounds, found \(lhs.typeName) and \(rhs.typeName)"))
            }
            if op == .closedRange {
                let (next, overflow) = hi.addingReportingOverflow(1)
                if overflow { return .failure(overflowError("...")) }
                hi = next
            }
            guard lo <= hi else {
                return .failure(RecipeError(.runtime, "a range needs lower <= upper, found \(lo)\(op.rawValue)\(op == .closedRange ? hi - 1 : hi)"))
            }
            return .success(.range(lower: lo, upper: hi))
        case .and, .or, .nilCoalescing:
            return .failure(RecipeError(.runtime, "`\(op.rawValue)` is evaluated by the interpreter"))
        }
    }

    private static func arithmetic(_ op: BinaryOperator, _ lhs: Value, _ rhs: Value) -> Outcome {
        switch (lhs, rhs) {
        case (.int(let a), .int(let b)):
            let result: (partialValue: Int, overflow: Bool)
            switch op {
            case .add: result = a.addingReportingOverflow(b)
            case .subtract: result = a.subtractingReportingOverflow(b)
            case .multiply: result = a.multipliedReportingOverflow(by: b)
            case .divide, .remainder:
                if b == 0 { return .failure(RecipeError(.runtime, "division by zero")) }
                result = op == .divide ? a.dividedReportingOverflow(by: b) : a.remainderReportingOverflow(dividingBy: b)
            default: return .failure(RecipeError(.runtime, "not arithmetic"))
            }
            return result.overflow ? .failure(overflowError(op.rawValue)) : .success(.int(result.partialValue))
        case (.double(let a), .double(let b)):
            switch op {
            case .add: return .success(.double(a + b))
            case .subtract: return .success(.double(a - b))
            case .multiply: return .success(.double(a * b))
            case .divide: return .success(.double(a / b))
            default:
                return .failure(RecipeError(.type, "`%` is for Int; for Double use `a.truncatingRemainder(dividingBy: b)`"))
            }
        case (.int, .double), (.double, .int):
            return mixed(op, lhs, rhs)
        case (.string(let a), .string(let b)) where op == .add:
            guard a.count + b.count <= Limits.collectionCount else { return .failure(RecipeError.tooLarge("string")) }
            return charged(elements: nil, bytes: a.utf8.count + b.utf8.count) { .string(a + b) }
        case (.array(let a), .array(let b)) where op == .add:
            guard a.count + b.count <= Limits.collectionCount else { return .failure(RecipeError.tooLarge("array")) }
            return charged(elements: a.count + b.count, bytes: nil) { .array(a + b) }
        default:
            return .failure(
                RecipeError(
                    .type, "binary operator `\(op.rawValue)` cannot be applied to \(lhs.typeName) and \(rhs.typeName)"))
        }
    }

    private static func compare(_ op: BinaryOperator, _ lhs: Value, _ rhs: Value) -> Outcome {
        func result<T: Comparable>(_ a: T, _ b: T) -> Outcome {
            switch op {
            case .less: return .success(.bool(a < b))
            case .lessOrEqual: return .success(.bool(a <= b))
            case .greater: return .success(.bool(a > b))
            default: return .success(.bool(a >= b))
            }
        }
        switch (lhs, rhs) {
        case (.int(let a), .int(let b)): return result(a, b)
        case (.double(let a), .double(let b)): return result(a, b)
        case (.string(let a), .string(let b)): return result(a, b)
        case (.int, .double), (.double, .int): return mixed(op, lhs, rhs)
        default:
            return .failure(
                RecipeError(
                    .type, "binary operator `\(op.rawValue)` cannot be applied to \(lhs.typeName) and \(rhs.typeName)"))
        }
    }

    private static func mixed(_ op: BinaryOperator, _ lhs: Value, _ rhs: Value) -> Outcome {
        .failure(
            RecipeError(
                .type,
                "binary operator `\(op.rawValue)` cannot be applied to \(lhs.typeName) and \(rhs.typeName); "
                    + "convert one side with `Double(...)` or `Int(...)`"))
    }

    private static func overflowError(_ op: String) -> RecipeError {
        RecipeError(.runtime, "arithmetic overflow in `\(op)`")
    }
}

/// The value `make` builds, after charging its size against the memory limit (`Limits.charge`).
private func charged(elements: Int?, bytes: Int?, _ make: () -> Value) -> Result<Value, RecipeError> {
    do {
        if let elements { try Limits.charge(elements: elements, for: "an array") }
        if let bytes { try Limits.charge(bytes: bytes, for: "a string") }
    } catch let error as RecipeError {
        return .failure(error)
    } catch {
        return .failure(RecipeError(.limit, "\(error)"))
    }
    return .success(make())
}
