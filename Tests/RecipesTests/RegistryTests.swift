import Foundation
import Testing
@testable import RecipeLanguage
@testable import Recipes

/// The builtin table of `rlhf` (the language's areas and the RLHF ones): well formed, documented,
/// complete, and the generated reference up to date.
@Suite struct RegistryTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func everyBuiltinIsDocumented() {
        for b in Registry.recipes.builtins {
            #expect(!b.doc.isEmpty, "\(b.qualifiedName) has no doc line")
            #expect(!b.doc.contains("\n"), "\(b.qualifiedName): the doc is one line")
        }
        for area in Registry.recipes.areas {
            #expect(!area.doc.isEmpty)
            for type in area.types { #expect(!type.doc.isEmpty, "type \(type.name)") }
        }
    }

    @Test func overloadsDifferByLabels() {
        var seen: [String: [String]] = [:]
        for b in Registry.recipes.builtins {
            let key = "\(b.kind) \(b.name)(" + b.parameters.map { ($0.label ?? "_") + ":" }.joined() + ")"
            seen[key, default: []].append(b.doc)
        }
        for (key, docs) in seen { #expect(docs.count == 1, "\(key) is declared \(docs.count) times") }
    }

    @Test func parametersAreWellFormed() {
        for b in Registry.recipes.builtins {
            let names = b.parameters.map(\.name)
            #expect(Set(names).count == names.count, "\(b.qualifiedName) repeats a parameter name")
            for p in b.parameters {
                if let value = p.defaultValue {
                    #expect(
                        p.type.coerce(value, integerLiteral: true) != nil,
                        "\(b.qualifiedName): default of \(p.name) is not a \(p.type)")
                }
            }
        }
    }

    /// Every `Builtins+*.swift` file's area is listed in its module's list of areas, so no area is
    /// forgotten: the language's in `Registry.languageAreas`, this module's in `Registry.rlhfAreas`.
    @Test(arguments: [
        ("Sources/RecipeLanguage", "Registry.swift", "languageAreas"),
        ("Sources/Recipes", "Registry+Recipes.swift", "rlhfAreas"),
    ])
    func everyAreaFileIsRegistered(_ module: String, _ registryFile: String, _ list: String) throws {
        let folder = Self.repository.appendingPathComponent(module)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("Builtins+") }
        let registry = try String(contentsOf: folder.appendingPathComponent(registryFile), encoding: .utf8)
        let listed = registry.components(separatedBy: "\(list): [BuiltinArea] = [")[1].components(separatedBy: "]")[0]
        #expect(!files.isEmpty)
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where line.contains("static let") && line.contains("= BuiltinArea(") {
                let name = line.components(separatedBy: "static let ")[1].components(separatedBy: " ")[0]
                #expect(listed.contains(".\(name)"), "\(file) declares the area `\(name)`; add `.\(name)` to Registry.\(list)")
            }
        }
    }

    /// docs/recipes.md is generated from the registry; regenerate it with `swift run rlhf docs`.
    @Test func referenceIsUpToDate() throws {
        let url = Self.repository.appendingPathComponent("docs/recipes.md")
        let committed = try String(contentsOf: url, encoding: .utf8)
        #expect(committed == Reference.markdown(.recipes), "docs/recipes.md is out of date: run `swift run rlhf docs`")
    }

    /// The compiled Swift API is generated from the builtins; regenerate it with `swift run rlhf docs`.
    @Test func generatedSwiftAPIIsUpToDate() throws {
        let committed = try String(contentsOf: Self.repository.appendingPathComponent(SwiftAPI.path), encoding: .utf8)
        #expect(committed == SwiftAPI.source(), "\(SwiftAPI.path) is out of date: run `swift run rlhf docs`")
    }

    @Test func referenceCoversEveryBuiltin() {
        let text = Reference.markdown(.recipes)
        for b in Registry.recipes.builtins {
            // Enum cases are listed in their type's table of cases.
            let isCase = b.owner.flatMap { Registry.recipes.types[$0] }?.cases.contains { $0.name == b.name } ?? false
            let shown = isCase ? "`.\(b.name)`" : "`\(b.signature)`"
            #expect(text.contains(shown), "\(b.qualifiedName) is missing")
        }
    }

    @Test func builtinsAreReachableFromSwift() throws {
        // A builtin is a value with the Swift API behind it: calling it positionally works too.
        let seedBuiltin = Registry.recipes.functions["seed"]![0]
        let session = Session(outputDirectory: FileManager.default.temporaryDirectory, display: { _ in })
        _ = try session.makeCurrent { try seedBuiltin.implementation(Arguments(seedBuiltin, [.int(9)]), session) }
        #expect(session.seed == 9)
        session.makeCurrent { seed(11) }
        #expect(session.seed == 11)
    }

    @Test(arguments: ["Sources/RecipeLanguage", "Sources/Recipes"])
    func noBuiltinRunsProcesses(_ module: String) throws {
        let folder = Self.repository.appendingPathComponent(module)
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".swift") {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for forbidden in ["Process(", "posix_spawn", "system(", "popen(", "execv"] {
                #expect(!text.contains(forbidden), "\(file) uses \(forbidden)")
            }
        }
    }
}
