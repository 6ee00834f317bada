import RecipeLanguage

// Session builtins: the seed every random stream of a run comes from.

/// Seeds every random stream of the current session: initial weights, data order, sampling.
///
/// Call it once at the top of a recipe; `rlhf run --seed N` sets it for recipes that do not.
/// Streams are forked from the seed by name, so the same seed gives the same run.
public func seed(_ value: Int) {
    let session = Session.current
    session.seed = session.fixedSeed ?? value
}

extension BuiltinArea {
    static let session = BuiltinArea(
        "Session", doc: "The seed every random stream of the session comes from.",
        builtins: [
            Builtin(
                "seed", doc: "Seeds every random stream of the session (weights, data order, sampling).",
                parameters: [.positional("value", .int, doc: "The seed.")]
            ) { args, _ in
                let session = Session.current
                if session.hasRunContext {
                    throw RecipeError(
                        .runtime,
                        "`seed(...)` must come before the first training stage; the run's random streams already come from seed \(session.seed ?? 0)")
                }
                seed(try args.int("value"))
                return .void
            }
        ])
}
