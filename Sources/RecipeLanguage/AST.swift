// The recipe language after lowering: the supported subset of Swift, with operators folded and
// locations resolved. `Lowering` builds it from a swift-syntax tree; `Interpreter` runs it.

/// An expression.
indirect enum Expr {
    case integer(Int, RecipeLocation)
    case float(Double, RecipeLocation)
    case string(String, RecipeLocation)
    case interpolation([StringPart], RecipeLocation)
    case bool(Bool, RecipeLocation)
    case nilLiteral(RecipeLocation)
    case name(String, RecipeLocation)
    case array([Expr], RecipeLocation)
    case dictionary([(key: Expr, value: Expr)], RecipeLocation)
    case tuple([Expr], RecipeLocation)
    /// `base.name`; a nil base is an implicit member (`.bytes`), typed by its context.
    case member(Expr?, String, RecipeLocation)
    /// `tuple.0`
    case tupleElement(Expr, Int, RecipeLocation)
    case call(Expr, [Argument], RecipeLocation)
    case subscriptCall(Expr, [Argument], RecipeLocation)
    case closure(ClosureDecl)
    case binary(BinaryOperator, Expr, Expr, RecipeLocation)
    case prefix(PrefixOperator, Expr, RecipeLocation)
    case ternary(Expr, Expr, Expr, RecipeLocation)
    /// `target = value` or `target += value`.
    case assignment(Expr, BinaryOperator?, Expr, RecipeLocation)
    case forceUnwrap(Expr, RecipeLocation)
    /// An operator used as a function: `reduce(0, +)`.
    case operatorFunction(BinaryOperator, RecipeLocation)
    /// `if` used as an expression: `let x = if c { 1 } else { 2 }`.
    case ifExpression(IfStatement)

    var location: RecipeLocation {
        switch self {
        case .integer(_, let l), .float(_, let l), .string(_, let l), .interpolation(_, let l), .bool(_, let l),
            .nilLiteral(let l), .name(_, let l), .array(_, let l), .dictionary(_, let l), .tuple(_, let l),
            .member(_, _, let l), .tupleElement(_, _, let l), .call(_, _, let l), .subscriptCall(_, _, let l),
            .binary(_, _, _, let l), .prefix(_, _, let l), .ternary(_, _, _, let l), .assignment(_, _, _, let l),
            .forceUnwrap(_, let l), .operatorFunction(_, let l):
            return l
        case .closure(let c): return c.location
        case .ifExpression(let s): return s.location
        }
    }

    /// Whether Swift would type this expression as a `Double` when the context asks for one: an
    /// integer literal, possibly negated, parenthesized or combined by arithmetic with others.
    var isIntegerLiteral: Bool {
        switch self {
        case .integer: return true
        case .prefix(_, let e, _): return e.isIntegerLiteral
        case .tuple(let elements, _): return elements.count == 1 && elements[0].isIntegerLiteral
        case .binary(let op, let l, let r, _):
            return op.isArithmetic && l.isIntegerLiteral && r.isIntegerLiteral
        default: return false
        }
    }

    /// Whether the expression is a literal: a number, a string, a boolean, or an array or
    /// dictionary of literals (what `--set` accepts).
    var isLiteral: Bool {
        switch self {
        case .integer, .float, .string, .bool, .nilLiteral: return true
        case .prefix(.negate, let e, _): return e.isLiteral
        case .array(let elements, _): return elements.allSatisfy(\.isLiteral)
        case .dictionary(let pairs, _): return pairs.allSatisfy { $0.key.isLiteral && $0.value.isLiteral }
        case .member(nil, _, _): return true
        default: return false
        }
    }
}

enum StringPart {
    case text(String)
    case value(Expr)
}

/// One argument of a call: `beta: 0.1`, or a trailing closure.
struct Argument {
    var label: String?
    var value: Expr
    var location: RecipeLocation
    /// Written as a trailing closure after the parentheses.
    var isTrailingClosure = false
}

enum BinaryOperator: String {
    case add = "+", subtract = "-", multiply = "*", divide = "/", remainder = "%"
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case and = "&&", or = "||", nilCoalescing = "??"
    case halfOpenRange = "..<", closedRange = "..."

    var isArithmetic: Bool {
        switch self {
        case .add, .subtract, .multiply, .divide, .remainder: return true
        default: return false
        }
    }

    var isComparison: Bool {
        switch self {
        case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual: return true
        default: return false
        }
    }
}

enum PrefixOperator: String {
    case negate = "-", plus = "+", not = "!"
}

/// A statement.
indirect enum Stmt {
    case expression(Expr)
    /// `let`/`var` with an optional type annotation and initializer.
    case binding(Binding)
    case function(FunctionDecl)
    case ifStatement(IfStatement)
    case guardStatement([Condition], body: [Stmt], RecipeLocation)
    case forIn(Pattern, Expr, whereClause: Expr?, body: [Stmt], RecipeLocation)
    case whileLoop([Condition], body: [Stmt], RecipeLocation)
    case repeatWhile(body: [Stmt], Expr, RecipeLocation)
    case returnStatement(Expr?, RecipeLocation)
    case breakStatement(RecipeLocation)
    case continueStatement(RecipeLocation)
    /// `import Recipes` and friends: nothing to do.
    case importStatement(RecipeLocation)

    var location: RecipeLocation {
        switch self {
        case .expression(let e): return e.location
        case .binding(let b): return b.location
        case .function(let f): return f.location
        case .ifStatement(let s): return s.location
        case .guardStatement(_, _, let l), .forIn(_, _, _, _, let l), .whileLoop(_, _, let l),
            .repeatWhile(_, _, let l), .returnStatement(_, let l), .breakStatement(let l),
            .continueStatement(let l), .importStatement(let l):
            return l
        }
    }
}

struct Binding {
    var isConstant: Bool
    var pattern: Pattern
    var type: ValueType?
    var initializer: Expr?
    var location: RecipeLocation
}

final class IfStatement {
    let conditions: [Condition]
    let body: [Stmt]
    /// The `else` block; an `else if` is a block holding one `if`.
    let elseBody: [Stmt]?
    let location: RecipeLocation

    init(conditions: [Condition], body: [Stmt], elseBody: [Stmt]?, location: RecipeLocation) {
        self.conditions = conditions
        self.body = body
        self.elseBody = elseBody
        self.location = location
    }
}

enum Condition {
    case expression(Expr)
    /// `let name = value`, or `let name` for `let name = name`.
    case optionalBinding(isConstant: Bool, name: String, Expr, RecipeLocation)
}

indirect enum Pattern {
    case name(String)
    case wildcard
    case tuple([Pattern])

    /// The names the pattern binds.
    var names: [String] {
        switch self {
        case .name(let n): return [n]
        case .wildcard: return []
        case .tuple(let elements): return elements.flatMap(\.names)
        }
    }
}

/// A `func` declared in a recipe.
final class FunctionDecl {
    struct Parameter {
        var label: String?
        var name: String
        var type: ValueType
        var defaultValue: Expr?
        var isVariadic: Bool
    }

    let name: String
    let parameters: [Parameter]
    let returns: ValueType
    let body: [Stmt]
    let location: RecipeLocation

    init(name: String, parameters: [Parameter], returns: ValueType, body: [Stmt], location: RecipeLocation) {
        self.name = name
        self.parameters = parameters
        self.returns = returns
        self.body = body
        self.location = location
    }

    /// `name(label:label:)` as Swift names functions.
    var fullName: String {
        "\(name)(" + parameters.map { ($0.label ?? "_") + ":" }.joined() + ")"
    }
}

/// A closure: `{ prompt, response in ... }` or `{ $0 * 2 }`.
final class ClosureDecl {
    /// Named parameters, or nil when the body uses `$0`, `$1` ...
    let parameters: [(name: String, type: ValueType?)]?
    /// With `$n` parameters, how many the body uses (the highest `n` + 1).
    let shorthandCount: Int
    let body: [Stmt]
    let location: RecipeLocation

    init(parameters: [(name: String, type: ValueType?)]?, shorthandCount: Int, body: [Stmt], location: RecipeLocation) {
        self.parameters = parameters
        self.shorthandCount = shorthandCount
        self.body = body
        self.location = location
    }
}
