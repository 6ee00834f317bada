/// One level of variables: the globals of a session, a function body, a loop body, a block.
/// Closures keep the scope they were created in, so they see later changes to captured `var`s,
/// as Swift closures do.
final class Scope {
    struct Variable {
        var value: Value
        let isConstant: Bool
        /// The declared or inferred type that assignments must keep.
        let type: ValueType?
        var isInitialized: Bool
    }

    let parent: Scope?
    private(set) var variables: [String: Variable] = [:]
    /// Declaration order, for `:vars`.
    private(set) var order: [String] = []

    init(parent: Scope?) {
        self.parent = parent
    }

    func lookup(_ name: String) -> Variable? {
        var scope: Scope? = self
        while let s = scope {
            if let v = s.variables[name] { return v }
            scope = s.parent
        }
        return nil
    }

    func isDeclaredHere(_ name: String) -> Bool { variables[name] != nil }

    func declare(_ name: String, _ value: Value, constant: Bool, type: ValueType?, initialized: Bool = true) {
        if variables[name] == nil { order.append(name) }
        variables[name] = Variable(value: value, isConstant: constant, type: type, isInitialized: initialized)
    }

    /// Stores `value` in the nearest scope declaring `name`; the caller has checked mutability.
    func store(_ name: String, _ value: Value) {
        var scope: Scope? = self
        while let s = scope {
            if s.variables[name] != nil {
                s.variables[name]!.value = value
                s.variables[name]!.isInitialized = true
                return
            }
            scope = s.parent
        }
    }

    /// Every name visible from this scope.
    var visibleNames: [String] {
        var names: [String] = []
        var scope: Scope? = self
        while let s = scope {
            names += s.order
            scope = s.parent
        }
        return names
    }

    /// Variables of this scope in declaration order.
    var declared: [(name: String, variable: Variable)] {
        order.compactMap { name in variables[name].map { (name: name, variable: $0) } }
    }
}
