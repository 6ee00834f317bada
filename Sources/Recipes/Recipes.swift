// The Recipes module: the recipe language (a subset of Swift parsed with swift-syntax and evaluated
// by `Interpreter`), the builtin registry that the interpreter, the REPL, `:help` and the generated
// `docs/recipes.md` all read, and the Swift API that the builtins call, so that a compiled program
// that writes `import Recipes` does what the interpreted recipe does.
//
// Foundation is re-exported so that a compiled recipe finds `sqrt`, `exp`, `log` and `pow` with
// nothing but `import Recipes`, as the interpreter does.
@_exported import Foundation
