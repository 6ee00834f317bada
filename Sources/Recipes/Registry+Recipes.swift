import RecipeLanguage

extension Registry {
    /// The areas this module adds to the language's, in the order the reference lists them.
    /// Adding an area is one line here.
    static let rlhfAreas: [BuiltinArea] = [.session, .models, .data, .training, .runs]

    /// The registry of `rlhf run`, the REPL, notebooks and `docs/recipes.md`: the language's
    /// builtins and the RLHF ones.
    public static let recipes = Registry(areas: Registry.languageAreas + rlhfAreas)
}
