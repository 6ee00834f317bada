import Foundation

// Values a host puts into the global scope before it evaluates, and one-expression evaluation:
// what `rlhf runs --where config["beta"] == 0.1` needs.

extension Interpreter {
    /// Declares the constant `name` in the global scope (replacing an earlier one), so the code
    /// evaluated next can read it.
    public func define(_ name: String, _ value: Value) {
        globals.declare(name, value, constant: true, type: nil)
    }

    /// Checks that `source` is one expression over the names in scope, without evaluating it.
    ///
    /// - Throws: `RecipeError` with the line and column of a syntax error, an unknown name, or a
    ///   statement that is not an expression.
    public func checkExpression(_ source: String) throws {
        let registry = self.registry
        let known = Set(globals.visibleNames)
        try LargeStack.run {
            let program = try Lowering.lower(source, fileName: nil, registry: registry)
            guard program.count == 1, case .expression = program[0] else {
                let location = program.count > 1 ? program[1].location : program.first?.location ?? RecipeLocation(line: 1, column: 1)
                throw RecipeError(.syntax, "expected one expression, such as `config[\"beta\"] == 0.1 && final[\"loss\"] < 1`", at: location)
            }
            try Checker.check(program, known: known, registry: registry)
        }
    }
}
