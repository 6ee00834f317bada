import SwiftParser
import SwiftSyntax

/// Finds the first syntax error in a tree: a missing token or node, or unexpected text.
final class SyntaxErrorFinder: SyntaxVisitor {
    var first: (Syntax, String)?

    init() { super.init(viewMode: .all) }

    private func record(_ node: some SyntaxProtocol, _ message: String) -> SyntaxVisitorContinueKind {
        if first == nil { first = (Syntax(node), message) }
        return .skipChildren
    }

    override func visit(_ node: UnexpectedNodesSyntax) -> SyntaxVisitorContinueKind {
        let text = node.trimmedDescription
        let shown = text.count > 30 ? String(text.prefix(30)) + "…" : text
        return record(node, "unexpected `\(shown.replacingOccurrences(of: "\n", with: " "))`")
    }

    override func visit(_ node: MissingExprSyntax) -> SyntaxVisitorContinueKind { record(node, "expected an expression") }
    override func visit(_ node: MissingDeclSyntax) -> SyntaxVisitorContinueKind { record(node, "expected a declaration") }
    override func visit(_ node: MissingTypeSyntax) -> SyntaxVisitorContinueKind { record(node, "expected a type") }
    override func visit(_ node: MissingPatternSyntax) -> SyntaxVisitorContinueKind { record(node, "expected a name") }
    override func visit(_ node: MissingStmtSyntax) -> SyntaxVisitorContinueKind { record(node, "expected a statement") }
    override func visit(_ node: MissingSyntax) -> SyntaxVisitorContinueKind { record(node, "expected more input") }

    override func visit(_ token: TokenSyntax) -> SyntaxVisitorContinueKind {
        if token.presence == .missing {
            let text = token.text
            return record(token, text.isEmpty ? "expected a name" : "expected `\(text)`")
        }
        if let diagnostic = token.tokenDiagnostic, diagnostic.severity == .error {
            return record(token, "malformed `\(token.trimmedDescription.prefix(30))`")
        }
        return .visitChildren
    }
}
