import FixtureSupport
import Foundation
import Testing
@testable import Recipes

/// The recipe language is embedded Swift: every recipe file, unchanged, compiles as a Swift program
/// against `import Recipes`, and the compiled program does what the interpreter does.
///
/// The program is compiled with `swiftc` against the modules and object files of the build that
/// made these tests, so these tests need the build folder (they are skipped without it).
@Suite(.serialized) struct CompiledRecipeTests {
    static let repository = RegistryTests.repository

    /// The build folder: `.build*/debug`, beside the `rlhf` binary.
    static let build = RLHFCommand.executable.deletingLastPathComponent()

    /// Modules a compiled recipe links: Recipes and everything it depends on.
    static let modules = [
        "Recipes", "RecipeLanguage", "Training", "Reports", "Plots", "Recording", "Models", "Datasets", "Generation", "Tokenizers", "WeightFiles",
        "Tensors", "Alignment", "CKernels", "Distributed", "SwiftSyntax", "SwiftParser", "_SwiftSyntaxCShims",
    ]

    static var available: Bool {
        FileManager.default.fileExists(atPath: build.appendingPathComponent("Modules/Recipes.swiftmodule").path)
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/env")
    }

    /// Runs a tool and returns its standard output, or throws with its standard error.
    static func tool(_ arguments: [String], in directory: URL? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw RecipeError(
                .runtime,
                "\(arguments.prefix(2).joined(separator: " ")) failed: "
                    + String(decoding: errData, as: UTF8.self).prefix(2_000))
        }
        return String(decoding: outData, as: UTF8.self)
    }

    /// `swiftc` arguments that find the Recipes module and the C modules it imports.
    static var moduleFlags: [String] {
        // The package checkouts sit beside the build folder, one or two levels up.
        let relative = "checkouts/swift-syntax/Sources/_SwiftSyntaxCShims/include/module.modulemap"
        var root = build.deletingLastPathComponent()
        for _ in 0..<3 where !FileManager.default.fileExists(atPath: root.appendingPathComponent(relative).path) {
            root.deleteLastPathComponent()
        }
        let shims = root.appendingPathComponent(relative)
        var flags = ["-I", build.appendingPathComponent("Modules").path, "-Xcc", "-fmodule-map-file=\(shims.path)"]
        for c in ["CHDF5", "CBLAS", "CMPI"] {
            flags += ["-Xcc", "-fmodule-map-file=" + repository.appendingPathComponent("Sources/\(c)/module.modulemap").path]
        }
        // The package's own C target: its module map is generated into the build folder.
        flags += ["-Xcc", "-fmodule-map-file=" + build.appendingPathComponent("CKernels.build/module.modulemap").path]
        let cflags = (try? tool(["pkg-config", "--cflags", "hdf5", "openblas", "ompi-c"])) ?? ""
        for flag in cflags.split(separator: " ") where !flag.isEmpty {
            flags += ["-Xcc", String(flag).trimmingCharacters(in: .whitespacesAndNewlines)]
        }
        return flags
    }

    /// Compiles a recipe file into an executable named after it.
    static func compile(_ recipe: String, into directory: URL) throws -> URL {
        // swiftc treats a file named main.swift as top-level code, as the interpreter does.
        let source = directory.appendingPathComponent("main.swift")
        try FileManager.default.copyItem(at: repository.appendingPathComponent(recipe), to: source)
        var objects: [String] = []
        let folders = (try FileManager.default.contentsOfDirectory(atPath: build.path)).filter { folder in
            modules.contains { folder == "\($0).build" } || (folder.hasPrefix("SwiftSyntax") && folder.dropFirst(11).first?.isNumber == true)
        }
        for folder in folders {
            let path = build.appendingPathComponent(folder)
            for file in try FileManager.default.contentsOfDirectory(atPath: path.path) where file.hasSuffix(".o") {
                objects.append(path.appendingPathComponent(file).path)
            }
        }
        let libraries = try tool(["pkg-config", "--libs", "openblas", "hdf5", "ompi-c"]).split(separator: " ")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        let program = directory.appendingPathComponent(URL(fileURLWithPath: recipe).deletingPathExtension().lastPathComponent)
        _ = try tool(["swiftc", "-o", program.path] + moduleFlags + [source.path] + objects + libraries)
        return program
    }

    @Test(.enabled(if: available)) func everyRecipeTypeChecksAsSwift() throws {
        let folder = Self.repository.appendingPathComponent("recipes")
        let recipes = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") }.sorted()
        #expect(!recipes.isEmpty)
        for recipe in recipes {
            let dir = try RLHFCommand.temporaryDirectory("typecheck")
            let source = dir.appendingPathComponent("main.swift")
            try FileManager.default.copyItem(at: folder.appendingPathComponent(recipe), to: source)
            #expect(throws: Never.self, "recipes/\(recipe)") {
                _ = try Self.tool(["swiftc", "-typecheck"] + Self.moduleFlags + [source.path])
            }
        }
    }

    @Test(.enabled(if: available)) func compiledHelloPrintsWhatTheInterpreterPrints() throws {
        let dir = try RLHFCommand.temporaryDirectory("compiled")
        let program = try Self.compile("recipes/hello.swift", into: dir)
        let compiled = try Self.tool([program.path], in: dir)
        let interpreted = try RLHFCommand.run(
            ["run", "recipes/hello.swift", "--out", dir.appendingPathComponent("interpreted").path],
            directory: Self.repository)
        #expect(interpreted.status == 0, "\(interpreted.stderr)")
        #expect(compiled == interpreted.stdout)
        #expect(compiled.hasPrefix("final loss 0.221"))
    }
}
