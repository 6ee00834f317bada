import SwiftParser
import SwiftSyntax

/// Turns recipe text into the recipe AST: parses it with `SwiftParser`, reports the first syntax
/// error, and lowers each supported node kind with one method; every other node kind is an
/// "unsupported syntax" error at its line and column. The whole recipe is checked before any of
/// it runs, so a construct outside the language fails at once rather than after an hour of training.
final class Lowering {
    /// How deeply brackets may nest; the parser reports deeper input as an error.
    static let maximumNestingLevel = 256
    /// How many operators one expression may chain.
    static let maximumOperators = 500

    private let converter: SourceLocationConverter
    private let fileName: String?
    /// The types a type annotation may name; nil accepts every name (the names are checked when
    /// the recipe is lowered again to run).
    private let registry: Registry?
    /// For each closure being lowered, the highest `$n` its body uses.
    private var shorthandUse: [Int] = []

    private init(tree: SourceFileSyntax, fileName: String?, registry: Registry?) {
        self.converter = SourceLocationConverter(fileName: fileName ?? "", tree: tree)
        self.fileName = fileName
        self.registry = registry
    }

    private static func parse(_ source: String) -> SourceFileSyntax {
        var parser = Parser(source, maximumNestingLevel: maximumNestingLevel)
        return SourceFileSyntax.parse(from: &parser)
    }

    /// The longest run of opening brackets accepted, such as `[[(`. The parser's lookahead for
    /// types like `[[Int]]` takes time exponential in such runs.
    static let maximumOpeningRun = 10

    /// Refuses long runs of `[` and `(` (outside strings and comments) before parsing.
    private static func checkOpeningRuns(_ source: String, fileName: String?) throws {
        var line = 1, column = 0
        var run = 0, runStart = (1, 1)
        var inString = false, escaped = false, inComment = false
        var previous: Character = " "
        for c in source {
            column += 1
            defer { previous = c }
            if c == "\n" {
                line += 1
                column = 0
                inComment = false
                if inString { inString = false }
                continue
            }
            if inComment { continue }
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
                continue
            }
            if c == "\"" { inString = true; run = 0; continue }
            if c == "/", previous == "/" { inComment = true; run = 0; continue }
            if c == "[" || c == "(" {
                if run == 0 { runStart = (line, column) }
                run += 1
                if run > maximumOpeningRun {
                    throw RecipeError(
                        .limit, "more than \(maximumOpeningRun) brackets open in a row; split the expression",
                        at: RecipeLocation(file: fileName, line: runStart.0, column: runStart.1))
                }
            } else if c != " " && c != "\t" {
                run = 0
            }
        }
    }

    /// Parses and lowers a whole recipe; type annotations must name a type of `registry`.
    static func lower(_ source: String, fileName: String?, registry: Registry?) throws -> [Stmt] {
        try checkOpeningRuns(source, fileName: fileName)
        let tree = parse(source)
        let lowering = Lowering(tree: tree, fileName: fileName, registry: registry)
        if tree.hasError || tree.statements.contains(where: { $0.hasError }) {
            throw lowering.syntaxError(in: tree)
        }
        return try lowering.statements(tree.statements)
    }

    /// Parses one expression (a `--set` value); nil when the text is not exactly one expression.
    static func lowerExpression(_ source: String) -> Expr? {
        guard (try? checkOpeningRuns(source, fileName: nil)) != nil else { return nil }
        let tree = parse(source)
        guard !tree.hasError, tree.statements.count == 1, case .expr(let expr) = tree.statements.first!.item
        else { return nil }
        return try? Lowering(tree: tree, fileName: nil, registry: nil).expression(expr)
    }

    // MARK: - Locations and errors

    func location(_ node: some SyntaxProtocol) -> RecipeLocation {
        let l = converter.location(for: node.positionAfterSkippingLeadingTrivia)
        return RecipeLocation(file: fileName, line: l.line, column: l.column)
    }

    func unsupported(_ what: String, _ node: some SyntaxProtocol, hint: String = "") -> RecipeError {
        RecipeError(
            .unsupported, "unsupported syntax: \(what) not part of the recipe language\(hint)",
            at: location(node))
    }

    private func syntaxError(in tree: SourceFileSyntax) -> RecipeError {
        let finder = SyntaxErrorFinder()
        finder.walk(tree)
        guard let (node, message) = finder.first else {
            return RecipeError(.syntax, "syntax error", at: RecipeLocation(file: fileName, line: 1, column: 1))
        }
        return RecipeError(.syntax, "syntax error: \(message)", at: location(node))
    }

    // MARK: - Statements

    private func statements(_ items: CodeBlockItemListSyntax) throws -> [Stmt] {
        var result: [Stmt] = []
        for item in items {
            switch item.item {
            case .decl(let decl): result += try declaration(decl)
            case .stmt(let stmt): result.append(try statement(stmt))
            case .expr(let expr): result.append(try expressionStatement(expr))
            }
        }
        return result
    }

    private func block(_ block: CodeBlockSyntax) throws -> [Stmt] {
        try statements(block.statements)
    }

    private func expressionStatement(_ expr: ExprSyntax) throws -> Stmt {
        if let ifExpr = expr.as(IfExprSyntax.self) { return .ifStatement(try ifStatement(ifExpr)) }
        return .expression(try expression(expr))
    }

    private func statement(_ stmt: StmtSyntax) throws -> Stmt {
        if let s = stmt.as(ExpressionStmtSyntax.self) { return try expressionStatement(s.expression) }
        if let s = stmt.as(ReturnStmtSyntax.self) {
            return .returnStatement(try s.expression.map(expression), location(s))
        }
        if let s = stmt.as(BreakStmtSyntax.self) {
            if s.label != nil { throw unsupported("labeled `break` is", s) }
            return .breakStatement(location(s))
        }
        if let s = stmt.as(ContinueStmtSyntax.self) {
            if s.label != nil { throw unsupported("labeled `continue` is", s) }
            return .continueStatement(location(s))
        }
        if let s = stmt.as(ForStmtSyntax.self) { return try forStatement(s) }
        if let s = stmt.as(WhileStmtSyntax.self) {
            return .whileLoop(try conditions(s.conditions), body: try block(s.body), location(s))
        }
        if let s = stmt.as(RepeatStmtSyntax.self) {
            return .repeatWhile(body: try block(s.body), try expression(s.condition), location(s))
        }
        if let s = stmt.as(GuardStmtSyntax.self) {
            return .guardStatement(try conditions(s.conditions), body: try block(s.body), location(s))
        }
        let names: [SyntaxKind: String] = [
            .throwStmt: "`throw` is", .deferStmt: "`defer` is", .doStmt: "`do`/`catch` is",
            .labeledStmt: "labeled statements are", .fallThroughStmt: "`fallthrough` is",
            .yieldStmt: "`yield` is", .discardStmt: "`discard` is",
        ]
        throw unsupported(names[stmt.kind] ?? "this statement is", stmt)
    }

    private func forStatement(_ s: ForStmtSyntax) throws -> Stmt {
        if s.tryKeyword != nil || s.awaitKeyword != nil || s.unsafeKeyword != nil {
            throw unsupported("`for try`/`for await` is", s)
        }
        if s.caseKeyword != nil { throw unsupported("`for case` is", s) }
        if let t = s.typeAnnotation { throw unsupported("a type annotation on a loop variable is", t) }
        return .forIn(
            try pattern(s.pattern), try expression(s.sequence), whereClause: try s.whereClause.map { try expression($0.condition) },
            body: try block(s.body), location(s))
    }

    private func ifStatement(_ s: IfExprSyntax) throws -> IfStatement {
        var elseBody: [Stmt]?
        switch s.elseBody {
        case .ifExpr(let nested): elseBody = [.ifStatement(try ifStatement(nested))]
        case .codeBlock(let b): elseBody = try block(b)
        case nil: elseBody = nil
        }
        return IfStatement(
            conditions: try conditions(s.conditions), body: try block(s.body), elseBody: elseBody,
            location: location(s))
    }

    private func conditions(_ list: ConditionElementListSyntax) throws -> [Condition] {
        try list.map { element in
            switch element.condition {
            case .expression(let e):
                return .expression(try expression(e))
            case .optionalBinding(let b):
                guard let name = b.pattern.as(IdentifierPatternSyntax.self) else {
                    throw unsupported("this pattern is", b.pattern)
                }
                if let t = b.typeAnnotation { throw unsupported("a type annotation in `if let` is", t) }
                let n = identifier(name.identifier)
                let value = try b.initializer.map { try expression($0.value) } ?? .name(n, location(name))
                let kind = b.bindingSpecifier.tokenKind
                guard kind == .keyword(.let) || kind == .keyword(.var) else {
                    throw unsupported("`\(b.bindingSpecifier.text)` bindings are", b)
                }
                return .optionalBinding(isConstant: kind == .keyword(.let), name: n, value, location(b))
            case .availability(let a):
                throw unsupported("availability conditions are", a)
            case .matchingPattern(let m):
                throw unsupported("`case` patterns are", m)
            }
        }
    }

    // MARK: - Declarations

    private func declaration(_ decl: DeclSyntax) throws -> [Stmt] {
        if let d = decl.as(VariableDeclSyntax.self) { return try variable(d) }
        if let d = decl.as(FunctionDeclSyntax.self) { return [.function(try function(d))] }
        if let d = decl.as(ImportDeclSyntax.self) {
            let module = d.path.map(\.name.text).joined(separator: ".")
            guard d.importKindSpecifier == nil, ["Recipes", "Foundation"].contains(module) else {
                throw unsupported("importing `\(module)` is", d, hint: "; a recipe may import Recipes and Foundation")
            }
            return [.importStatement(location(d))]
        }
        let names: [SyntaxKind: String] = [
            .classDecl: "`class` declarations are", .structDecl: "`struct` declarations are",
            .enumDecl: "`enum` declarations are", .protocolDecl: "`protocol` declarations are",
            .extensionDecl: "`extension` declarations are", .actorDecl: "`actor` declarations are",
            .typeAliasDecl: "`typealias` declarations are", .initializerDecl: "`init` declarations are",
            .deinitializerDecl: "`deinit` declarations are", .subscriptDecl: "`subscript` declarations are",
            .operatorDecl: "operator declarations are", .precedenceGroupDecl: "precedence groups are",
            .macroDecl: "macros are", .macroExpansionDecl: "macros are", .ifConfigDecl: "`#if` blocks are",
            .enumCaseDecl: "`case` declarations are", .associatedTypeDecl: "associated types are",
            .poundSourceLocation: "`#sourceLocation` is",
        ]
        throw unsupported(names[decl.kind] ?? "this declaration is", decl)
    }

    private func variable(_ d: VariableDeclSyntax) throws -> [Stmt] {
        try rejectAttributes(d.attributes, d.modifiers)
        let kind = d.bindingSpecifier.tokenKind
        guard kind == .keyword(.let) || kind == .keyword(.var) else {
            throw unsupported("`\(d.bindingSpecifier.text)` declarations are", d)
        }
        return try d.bindings.map { b in
            if let accessors = b.accessorBlock { throw unsupported("computed properties are", accessors) }
            return .binding(
                Binding(
                    isConstant: kind == .keyword(.let), pattern: try pattern(b.pattern),
                    type: try b.typeAnnotation.map { try type($0.type) },
                    initializer: try b.initializer.map { try expression($0.value) }, location: location(b)))
        }
    }

    private func function(_ d: FunctionDeclSyntax) throws -> FunctionDecl {
        try rejectAttributes(d.attributes, d.modifiers)
        if let g = d.genericParameterClause { throw unsupported("generic functions are", g) }
        if let w = d.genericWhereClause { throw unsupported("`where` clauses are", w) }
        if let e = d.signature.effectSpecifiers { throw unsupported("`throws` and `async` are", e) }
        guard case .identifier = d.name.tokenKind else { throw unsupported("operator functions are", d.name) }
        guard let body = d.body else {
            throw RecipeError(.syntax, "syntax error: `func \(d.name.text)` needs a body", at: location(d))
        }
        let parameters = try d.signature.parameterClause.parameters.map { p -> FunctionDecl.Parameter in
            if !p.attributes.isEmpty || !p.modifiers.isEmpty { throw unsupported("parameter attributes are", p) }
            let first = identifier(p.firstName)
            let name = p.secondName.map(identifier) ?? first
            return FunctionDecl.Parameter(
                label: first == "_" ? nil : first, name: name, type: try type(p.type),
                defaultValue: try p.defaultValue.map { try expression($0.value) }, isVariadic: p.ellipsis != nil)
        }
        return FunctionDecl(
            name: identifier(d.name), parameters: parameters,
            returns: try d.signature.returnClause.map { try type($0.type) } ?? .void, body: try block(body),
            location: location(d))
    }

    private func rejectAttributes(_ attributes: AttributeListSyntax, _ modifiers: DeclModifierListSyntax) throws {
        if let a = attributes.first { throw unsupported("attributes such as `\(a.trimmedDescription)` are", a) }
        if let m = modifiers.first { throw unsupported("modifiers such as `\(m.trimmedDescription)` are", m) }
    }

    private func pattern(_ p: PatternSyntax) throws -> Pattern {
        if let id = p.as(IdentifierPatternSyntax.self) { return .name(identifier(id.identifier)) }
        if p.is(WildcardPatternSyntax.self) { return .wildcard }
        if let t = p.as(TuplePatternSyntax.self) {
            return .tuple(
                try t.elements.map { e in
                    if let label = e.label { throw unsupported("labeled tuple patterns are", label) }
                    return try pattern(e.pattern)
                })
        }
        throw unsupported("this pattern is", p)
    }

    private func identifier(_ token: TokenSyntax) -> String {
        var text = token.text
        if text.hasPrefix("`"), text.hasSuffix("`"), text.count >= 2 { text = String(text.dropFirst().dropLast()) }
        return text
    }

    // MARK: - Types

    private func type(_ t: TypeSyntax) throws -> ValueType {
        if let id = t.as(IdentifierTypeSyntax.self) {
            let name = id.name.text
            let arguments = try id.genericArgumentClause.map { clause in
                try clause.arguments.map { arg -> ValueType in
                    guard case .type(let argType) = arg.argument else { throw unsupported("value generics are", arg) }
                    return try type(argType)
                }
            }
            switch (name, arguments?.count) {
            case ("Array", 1): return .array(arguments![0])
            case ("Dictionary", 2): return .dictionary(key: arguments![0], value: arguments![1])
            case ("Optional", 1): return .optional(arguments![0])
            case ("Range", 1), ("ClosedRange", 1): return .range
            case (_, nil): break
            default: throw unsupported("the generic type `\(t.trimmedDescription)` is", t)
            }
            switch name {
            case "Int": return .int
            case "Double", "Float": return .double
            case "String": return .string
            case "Bool": return .bool
            case "Any": return .any
            case "Void": return .void
            default:
                guard let registry, registry.types[name] == nil else { return .named(name) }
                let known = ["Int", "Double", "Float", "String", "Bool", "Any", "Void"] + registry.types.keys
                throw RecipeError(
                    .unknownName, "unknown type `\(name)`\(Suggestions.didYouMean(name, in: known))",
                    at: location(t))
            }
        }
        if let a = t.as(ArrayTypeSyntax.self) { return .array(try type(a.element)) }
        if let d = t.as(DictionaryTypeSyntax.self) { return .dictionary(key: try type(d.key), value: try type(d.value)) }
        if let o = t.as(OptionalTypeSyntax.self) { return .optional(try type(o.wrappedType)) }
        if let tuple = t.as(TupleTypeSyntax.self) {
            let elements = try tuple.elements.map { e -> ValueType in
                if e.firstName != nil { throw unsupported("labeled tuple types are", e) }
                return try type(e.type)
            }
            if elements.isEmpty { return .void }
            return elements.count == 1 ? elements[0] : .tuple(elements)
        }
        if let f = t.as(FunctionTypeSyntax.self) {
            if let e = f.effectSpecifiers { throw unsupported("`throws` and `async` are", e) }
            return .function(
                parameters: try f.parameters.map { try type($0.type) },
                returns: try type(f.returnClause.type))
        }
        if let a = t.as(AttributedTypeSyntax.self) {
            if !a.specifiers.isEmpty { throw unsupported("`inout` parameters are", a) }
            for attribute in a.attributes {
                guard attribute.trimmedDescription == "@escaping" else {
                    throw unsupported("the attribute `\(attribute.trimmedDescription)` is", attribute)
                }
            }
            return try type(a.baseType)
        }
        throw unsupported("the type `\(t.trimmedDescription)` is", t)
    }

    // MARK: - Expressions

    func expression(_ e: ExprSyntax) throws -> Expr {
        let here = location(e)
        if let n = e.as(IntegerLiteralExprSyntax.self) {
            guard let v = n.representedLiteralValue else {
                throw RecipeError(.syntax, "integer literal `\(n.literal.text)` does not fit in Int", at: here)
            }
            return .integer(v, here)
        }
        if let n = e.as(FloatLiteralExprSyntax.self) {
            guard let v = n.representedLiteralValue ?? Double(n.literal.text.filter { $0 != "_" }) else {
                throw RecipeError(.syntax, "malformed number `\(n.literal.text)`", at: here)
            }
            return .float(v, here)
        }
        if let s = e.as(StringLiteralExprSyntax.self) { return try string(s) }
        if let b = e.as(BooleanLiteralExprSyntax.self) { return .bool(b.literal.tokenKind == .keyword(.true), here) }
        if e.is(NilLiteralExprSyntax.self) { return .nilLiteral(here) }
        if let r = e.as(DeclReferenceExprSyntax.self) { return try reference(r) }
        if let a = e.as(ArrayExprSyntax.self) { return .array(try a.elements.map { try expression($0.expression) }, here) }
        if let d = e.as(DictionaryExprSyntax.self) {
            switch d.content {
            case .colon: return .dictionary([], here)
            case .elements(let elements):
                return .dictionary(try elements.map { (key: try expression($0.key), value: try expression($0.value)) }, here)
            }
        }
        if let t = e.as(TupleExprSyntax.self) { return try tuple(t) }
        if let m = e.as(MemberAccessExprSyntax.self) { return try member(m) }
        if let c = e.as(FunctionCallExprSyntax.self) { return try call(c) }
        if let s = e.as(SubscriptCallExprSyntax.self) {
            if s.trailingClosure != nil { throw unsupported("trailing closures on subscripts are", s) }
            return .subscriptCall(try expression(s.calledExpression), try arguments(s.arguments), here)
        }
        if let c = e.as(ClosureExprSyntax.self) { return .closure(try closure(c)) }
        if let s = e.as(SequenceExprSyntax.self) { return try fold(s) }
        if let p = e.as(PrefixOperatorExprSyntax.self) {
            guard let op = PrefixOperator(rawValue: p.operator.text) else {
                throw unsupported("the prefix operator `\(p.operator.text)` is", p)
            }
            return .prefix(op, try expression(p.expression), here)
        }
        if let f = e.as(ForceUnwrapExprSyntax.self) { return .forceUnwrap(try expression(f.expression), location(f.exclamationMark)) }
        if let i = e.as(IfExprSyntax.self) { return .ifExpression(try ifStatement(i)) }
        if let t = e.as(TryExprSyntax.self) {
            if t.questionOrExclamationMark != nil { throw unsupported("`try?` and `try!` are", t) }
            return try expression(t.expression)
        }
        if e.is(DiscardAssignmentExprSyntax.self) { return .name("_", here) }
        let names: [SyntaxKind: String] = [
            .switchExpr: "`switch` is", .awaitExpr: "`await` is", .optionalChainingExpr: "optional chaining (`?.`) is",
            .keyPathExpr: "key paths are", .macroExpansionExpr: "macros are", .superExpr: "`super` is",
            .postfixOperatorExpr: "postfix operators are", .asExpr: "casts (`as`) are", .isExpr: "type checks (`is`) are",
            .regexLiteralExpr: "regex literals are", .typeExpr: "type expressions are", .inOutExpr: "`&` (inout) is",
            .packExpansionExpr: "parameter packs are", .consumeExpr: "`consume` is", .copyExpr: "`copy` is",
            .unsafeExpr: "`unsafe` is", .simpleStringLiteralExpr: "this string literal is",
            .genericSpecializationExpr: "generic arguments are", .closureExpr: "this closure is",
        ]
        throw unsupported(names[e.kind] ?? "`\(e.trimmedDescription.prefix(30))` is", e)
    }

    private func reference(_ r: DeclReferenceExprSyntax) throws -> Expr {
        let here = location(r)
        if r.argumentNames != nil { throw unsupported("function references with labels are", r) }
        switch r.baseName.tokenKind {
        case .identifier:
            return .name(identifier(r.baseName), here)
        case .dollarIdentifier(let text):
            guard let n = Int(text.dropFirst()), !shorthandUse.isEmpty else {
                throw unsupported("`\(text)` outside a closure is", r)
            }
            shorthandUse[shorthandUse.count - 1] = max(shorthandUse[shorthandUse.count - 1], n + 1)
            return .name(text, here)
        case .binaryOperator(let text):
            guard let op = BinaryOperator(rawValue: text), op.isArithmetic || op.isComparison else {
                throw unsupported("the operator `\(text)` as a function is", r)
            }
            return .operatorFunction(op, here)
        default:
            throw unsupported("`\(r.baseName.text)` is", r)
        }
    }

    private func tuple(_ t: TupleExprSyntax) throws -> Expr {
        if let labeled = t.elements.first(where: { $0.label != nil }) {
            throw unsupported("labeled tuples are", labeled)
        }
        let elements = try t.elements.map { try expression($0.expression) }
        // `(x)` is just `x`; Swift has no one-element tuples.
        if elements.count == 1 { return elements[0] }
        return .tuple(elements, location(t))
    }

    private func member(_ m: MemberAccessExprSyntax) throws -> Expr {
        if m.declName.argumentNames != nil { throw unsupported("member references with labels are", m) }
        let name = m.declName.baseName
        let here = location(m.declName)
        if case .integerLiteral(let text) = name.tokenKind {
            guard let base = m.base, let index = Int(text) else { throw unsupported("`.\(text)` is", m) }
            return .tupleElement(try expression(base), index, here)
        }
        guard case .identifier = name.tokenKind else { throw unsupported("`.\(name.text)` is", m) }
        return .member(try m.base.map(expression), identifier(name), here)
    }

    private func call(_ c: FunctionCallExprSyntax) throws -> Expr {
        var args = try arguments(c.arguments)
        if let trailing = c.trailingClosure {
            args.append(
                Argument(
                    label: nil, value: .closure(try closure(trailing)), location: location(trailing),
                    isTrailingClosure: true))
        }
        for extra in c.additionalTrailingClosures {
            args.append(
                Argument(
                    label: identifier(extra.label), value: .closure(try closure(extra.closure)),
                    location: location(extra), isTrailingClosure: true))
        }
        let callee = try expression(c.calledExpression)
        // Errors about the call point at the called name: `llama` in `Model.llama(...)`.
        if let member = c.calledExpression.as(MemberAccessExprSyntax.self) {
            return .call(callee, args, location(member.declName))
        }
        return .call(callee, args, location(c.calledExpression))
    }

    private func arguments(_ list: LabeledExprListSyntax) throws -> [Argument] {
        try list.map { a in
            Argument(label: a.label.map(identifier), value: try expression(a.expression), location: location(a))
        }
    }

    private func closure(_ c: ClosureExprSyntax) throws -> ClosureDecl {
        var parameters: [(name: String, type: ValueType?)]?
        if let signature = c.signature {
            if !signature.attributes.isEmpty { throw unsupported("closure attributes are", signature.attributes) }
            if let capture = signature.capture { throw unsupported("capture lists are", capture) }
            if let effects = signature.effectSpecifiers { throw unsupported("`throws` and `async` are", effects) }
            switch signature.parameterClause {
            case .simpleInput(let names):
                parameters = names.map { (name: identifier($0.name), type: nil) }
            case .parameterClause(let clause):
                parameters = try clause.parameters.map { p in
                    if p.secondName != nil { throw unsupported("closure parameters with labels are", p) }
                    if p.ellipsis != nil { throw unsupported("variadic closure parameters are", p) }
                    return (name: identifier(p.firstName), type: try p.type.map(type))
                }
            case nil:
                parameters = []
            }
        }
        shorthandUse.append(0)
        defer { shorthandUse.removeLast() }
        let body = try statements(c.statements)
        let used = shorthandUse.last!
        if parameters != nil, used > 0 {
            throw RecipeError(.syntax, "a closure with named parameters cannot use `$0`", at: location(c))
        }
        return ClosureDecl(
            parameters: parameters ?? (used == 0 ? [] : nil), shorthandCount: used, body: body,
            location: location(c))
    }

    private func string(_ s: StringLiteralExprSyntax) throws -> Expr {
        let here = location(s)
        if let value = s.representedLiteralValue { return .string(value, here) }
        var parts: [StringPart] = []
        for segment in s.segments {
            switch segment {
            case .stringSegment(let text):
                // Unescape one segment by asking swift-syntax for the value of a literal holding only it.
                let single = s.with(\.segments, StringLiteralSegmentListSyntax([.stringSegment(text)]))
                guard let value = single.representedLiteralValue else {
                    throw RecipeError(.syntax, "malformed string literal", at: location(text))
                }
                parts.append(.text(value))
            case .expressionSegment(let interpolation):
                guard interpolation.expressions.count == 1, let only = interpolation.expressions.first, only.label == nil
                else { throw unsupported("interpolations with labels or several values are", interpolation) }
                parts.append(.value(try expression(only.expression)))
            }
        }
        return .interpolation(parts, here)
    }
}
