// swift-tools-version:6.0
import PackageDescription

// Numeric modules are compiled optimized even in debug builds: tests over real models would
// otherwise take minutes.
let optimized: [SwiftSetting] = [.unsafeFlags(["-O"])]

let package = Package(
    name: "swift-rlhf",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rlhf", targets: ["rlhf"]),
        .library(name: "Recipes", targets: ["Recipes"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swiftlang/swift-syntax", from: "603.0.0"),
    ],
    targets: [
        // MARK: - C libraries
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CReadline", pkgConfig: "readline", providers: [.apt(["libreadline-dev"])]),
        // Open MPI for data-parallel training (`mpirun -np N rlhf run ...`).
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        // Decode kernels built for AVX2 + FMA and for baseline x86-64, chosen at load.
        .target(name: "CKernels", exclude: ["kernels.inc"], cSettings: [.unsafeFlags(["-O3"])]),

        // MARK: - Core
        .target(name: "Tensors", dependencies: ["CBLAS", "CKernels"], swiftSettings: optimized),

        // MARK: - Leaf modules
        .target(name: "WeightFiles", swiftSettings: optimized),
        .target(name: "Tokenizers", dependencies: ["WeightFiles"], swiftSettings: optimized),
        .target(name: "Models", dependencies: ["Tensors", "Tokenizers", "WeightFiles", "CKernels"], swiftSettings: optimized),
        .target(name: "Datasets", dependencies: ["Tensors", "Tokenizers"], swiftSettings: optimized),
        .target(name: "Alignment", dependencies: ["Tensors"], swiftSettings: optimized),
        .target(name: "Generation", dependencies: ["Tensors", "Models", "Tokenizers"], swiftSettings: optimized),
        .target(name: "Recording", dependencies: ["CHDF5"], swiftSettings: optimized),
        .target(name: "Distributed", dependencies: ["CMPI"], swiftSettings: optimized),
        .target(name: "Plots"),
        .target(name: "Reports", dependencies: ["Recording", "Plots"]),
        .target(
            name: "Training",
            dependencies: [
                "Tensors", "Models", "Tokenizers", "Datasets", "Alignment", "Generation", "Recording", "WeightFiles", "Distributed",
                "CKernels",
            ],
            swiftSettings: optimized),
        // The recipe language knows no RLHF: swift-syntax is all it needs.
        .target(
            name: "RecipeLanguage",
            dependencies: [
                "Plots",
                .product(name: "SwiftSyntax", package: "swift-syntax"),
                .product(name: "SwiftParser", package: "swift-syntax"),
            ]),
        .target(
            name: "Recipes",
            dependencies: [
                "RecipeLanguage", "Training", "Reports", "Plots", "Recording", "Models", "Datasets", "Alignment",
                "Generation", "Tokenizers", "Tensors", "Distributed",
            ]),

        // MARK: - Executable
        .target(
            name: "Benchmarks",
            dependencies: [
                "Tensors", "Models", "Tokenizers", "Datasets", "Alignment", "Generation", "Training", "Recording", "CBLAS", "Distributed",
            ],
            swiftSettings: optimized),
        .executableTarget(
            name: "rlhf",
            dependencies: [
                "Recipes", "Benchmarks", "Reports", "Recording", "Models", "Generation", "Tensors", "CReadline", "Distributed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // The quickstart recipe, unchanged, compiled as a Swift program against `import Recipes`
        // (Examples/QuickstartCompiled/main.swift links to recipes/quickstart.swift).
        .executableTarget(name: "QuickstartCompiled", dependencies: ["Recipes"], path: "Examples/QuickstartCompiled"),

        // MARK: - Test support
        .target(name: "FixtureSupport", dependencies: ["Tensors", "WeightFiles"], path: "Tests/FixtureSupport"),

        // MARK: - Tests
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "Training", "CBLAS", "CKernels", "FixtureSupport"]),
        .testTarget(name: "WeightFilesTests", dependencies: ["WeightFiles", "FixtureSupport"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "WeightFiles", "FixtureSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Tensors", "WeightFiles", "CKernels", "FixtureSupport"]),
        .testTarget(name: "GenerationTests", dependencies: ["Generation", "Models", "Tokenizers", "Tensors", "FixtureSupport"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Tokenizers", "Tensors"]),
        .testTarget(name: "AlignmentTests", dependencies: ["Alignment", "Tensors", "FixtureSupport"]),
        .testTarget(name: "RecordingTests", dependencies: ["Recording"]),
        .testTarget(name: "PlotsTests", dependencies: ["Plots"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Recording", "Plots", "FixtureSupport"]),
        .testTarget(
            name: "TrainingTests", dependencies: ["Training", "Models", "Tokenizers", "Datasets", "Alignment", "Generation", "Recording", "Tensors"]),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks"]),
        .testTarget(name: "RecipeLanguageTests", dependencies: ["RecipeLanguage", "FixtureSupport"]),
        .testTarget(name: "RecipesTests", dependencies: ["Recipes", "RecipeLanguage", "Training", "Recording", "FixtureSupport"]),
        .testTarget(name: "CLITests", dependencies: ["FixtureSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
