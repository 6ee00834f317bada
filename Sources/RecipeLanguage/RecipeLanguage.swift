// The RecipeLanguage module: the recipe language (a subset of Swift parsed with swift-syntax and
// evaluated by `Interpreter`), the builtin registry that the interpreter, the REPL, `:help` and the
// generated reference all read, the core, math, strings, collections and output builtins, the REPL,
// notebooks and completion. It knows nothing of RLHF: the program that runs it (the `Recipes`
// module) is its `RecipeHost` and adds its own builtin areas to the registry.
//
// Foundation is re-exported so that a compiled recipe finds `sqrt`, `exp`, `log` and `pow` with
// nothing but `import Recipes`, as the interpreter does.
@_exported import Foundation
