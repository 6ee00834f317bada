import SwiftParser
import SwiftSyntax

// Operator expressions: a flat sequence (`a + b * c`, `x = y`, `c ? a : b`) folded into a tree by
// Swift's precedence groups.

extension Lowering {
    /// Swift's precedence groups for the operators recipes support, highest binding tightest.
    private enum Associativity { case left, right, none }

    private struct PendingOperator {
        enum Kind {
            case binary(BinaryOperator)
            case assignment(BinaryOperator?)
            case ternary(Expr)
        }
        var kind: Kind
        var precedence: Int
        var associativity: Associativity
        var location: RecipeLocation
        var text: String
    }

    private func pendingOperator(_ e: ExprSyntax) throws -> PendingOperator {
        let here = location(e)
        if e.is(AssignmentExprSyntax.self) {
            return PendingOperator(kind: .assignment(nil), precedence: 1, associativity: .right, location: here, text: "=")
        }
        if let t = e.as(UnresolvedTernaryExprSyntax.self) {
            return PendingOperator(
                kind: .ternary(try expression(t.thenExpression)), precedence: 2,
                associativity: .right, location: here, text: "?:")
        }
        if let b = e.as(BinaryOperatorExprSyntax.self) {
            let text = b.operator.text
            if text.count >= 2, text.hasSuffix("="), let op = BinaryOperator(rawValue: String(text.dropLast())),
                op.isArithmetic
            {
                return PendingOperator(kind: .assignment(op), precedence: 1, associativity: .right, location: here, text: text)
            }
            guard let op = BinaryOperator(rawValue: text) else { throw unsupported("the operator `\(text)` is", b) }
            let (precedence, associativity): (Int, Associativity)
            switch op {
            case .or: (precedence, associativity) = (3, .left)
            case .and: (precedence, associativity) = (4, .left)
            case .equal, .notEqual, .less, .lessOrEqual, .greater, .greaterOrEqual: (precedence, associativity) = (5, .none)
            case .nilCoalescing: (precedence, associativity) = (6, .right)
            case .halfOpenRange, .closedRange: (precedence, associativity) = (8, .none)
            case .add, .subtract: (precedence, associativity) = (9, .left)
            case .multiply, .divide, .remainder: (precedence, associativity) = (10, .left)
            }
            return PendingOperator(
                kind: .binary(op), precedence: precedence, associativity: associativity,
                location: here, text: text)
        }
        if e.is(UnresolvedAsExprSyntax.self) { throw unsupported("casts (`as`) are", e) }
        if e.is(UnresolvedIsExprSyntax.self) { throw unsupported("type checks (`is`) are", e) }
        if e.is(ArrowExprSyntax.self) { throw unsupported("`->` here is", e) }
        throw unsupported("`\(e.trimmedDescription.prefix(20))` is", e)
    }

    /// Folds `a + b * c` into a tree by operator precedence (shunting-yard).
    func fold(_ sequence: SequenceExprSyntax) throws -> Expr {
        let elements = Array(sequence.elements)
        guard elements.count % 2 == 1 else { throw RecipeError(.syntax, "syntax error: incomplete expression", at: location(sequence)) }
        if elements.count / 2 > Lowering.maximumOperators {
            throw RecipeError(
                .limit, "expression is too long (more than \(Lowering.maximumOperators) operators)",
                at: location(sequence))
        }
        var operands: [Expr] = [try expression(elements[0])]
        var operators: [PendingOperator] = []

        func reduce() throws {
            let op = operators.removeLast()
            let rhs = operands.removeLast(), lhs = operands.removeLast()
            switch op.kind {
            case .binary(let b): operands.append(.binary(b, lhs, rhs, op.location))
            case .ternary(let then): operands.append(.ternary(lhs, then, rhs, op.location))
            case .assignment(let compound):
                switch lhs {
                case .name, .subscriptCall, .member(.some, _, _), .tupleElement: break
                default:
                    throw RecipeError(
                        .syntax, "cannot assign to this expression; the left of `\(op.text)` must be a variable",
                        at: op.location)
                }
                operands.append(.assignment(lhs, compound, rhs, op.location))
            }
        }

        var i = 1
        while i < elements.count {
            let next = try pendingOperator(elements[i])
            while let top = operators.last {
                if top.precedence == next.precedence, next.associativity == .none {
                    throw RecipeError(
                        .syntax, "syntax error: `\(top.text)` and `\(next.text)` cannot be chained; add parentheses",
                        at: next.location)
                }
                guard top.precedence > next.precedence || (top.precedence == next.precedence && next.associativity == .left)
                else { break }
                try reduce()
            }
            operators.append(next)
            operands.append(try expression(elements[i + 1]))
            i += 2
        }
        while !operators.isEmpty { try reduce() }
        return operands[0]
    }
}
