// The Recipes module: the RLHF surface of the recipe language. `Session` (the seed, the run file,
// the run context) is the language's host; the session, model, data and training builtins call
// the Swift API of the same names (`API+*.swift`), so a compiled program that writes
// `import Recipes` does what the interpreted recipe does.
//
// The language (and Foundation, which it re-exports) comes with `import Recipes`, so a compiled
// recipe needs no other import.
@_exported import RecipeLanguage
