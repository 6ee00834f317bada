import Testing
@testable import RecipeLanguage

/// The language's registry: signatures written as Swift writes them, suggestions for typos.
@Suite struct RegistryTests {
    @Test func didYouMeanFindsTypos() {
        #expect(Suggestions.closest(to: "betta", in: ["beta", "learningRate"]) == "beta")
        #expect(Suggestions.closest(to: "learningrate", in: ["beta", "learningRate"]) == "learningRate")
        #expect(Suggestions.closest(to: "stpes", in: ["steps"]) == "steps")
        #expect(Suggestions.closest(to: "zzz", in: ["beta"]) == nil)
        #expect(Suggestions.editDistance("kitten", "sitting") == 3)
    }

    @Test func signaturesReadLikeSwift() {
        let print = Registry.language.functions["print"]![0]
        #expect(print.signature == "print(_ items: Any..., separator: String = \" \", terminator: String = \"\\n\")")
        let pi = Registry.language.staticMembers("pi", of: "Double")[0]
        #expect(pi.signature == "Double.pi: Double")
        let upper = Registry.language.instanceMembers("uppercased", of: "String")[0]
        #expect(upper.signature == "string.uppercased() -> String")
    }
}
