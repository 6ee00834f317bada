// A sweep: a recipe run at every point of a grid of `--set` values, once per seed, each run in its
// own folder `OUT/<name>=<value>,...,seed=<seed>/`. The plan and the state of each point come from
// the folders alone, so rerunning a sweep skips what finished.

import Foundation
import Recording

/// Why a sweep cannot be planned.
public enum SweepError: Error, CustomStringConvertible, Equatable {
    case badSetting(String)
    case repeatedName(String)
    case noSeeds

    public var description: String {
        switch self {
        case .badSetting(let text):
            return "--set \(text): expected name=value1,value2,... (a top-level `let` of the recipe and the values to try)."
        case .repeatedName(let name):
            return "--set \(name) is given twice; list all of its values in one --set \(name)=a,b,c."
        case .noSeeds:
            return "--seeds needs at least one seed, e.g. --seeds 1,2,3."
        }
    }
}

/// The grid of a sweep and the folder of each run.
public struct SweepPlan: Sendable, Equatable {
    /// One swept name and its values, as the user wrote them.
    public struct Axis: Sendable, Equatable {
        public var name: String
        public var values: [String]
    }

    /// One run: a value for every axis, and a seed.
    public struct Point: Sendable, Equatable {
        /// `(name, value)` for every axis, in axis order.
        public var settings: [Setting]
        public var seed: Int

        public struct Setting: Sendable, Equatable {
            public var name: String
            public var value: String
        }

        /// The grid point without the seed: `beta=0.05,learningRate=1e-3` (empty with no axes).
        public var gridName: String { settings.map { "\($0.name)=\($0.value)" }.joined(separator: ",") }

        /// The run's folder name: `beta=0.05,learningRate=1e-3,seed=1`.
        public var folder: String {
            (settings.map { "\($0.name)=\($0.value)" } + ["seed=\(seed)"]).joined(separator: ",").fileNameSafeKeepingSettings
        }

        /// The `rlhf run` arguments after the recipe file.
        public var runArguments: [String] {
            ["--seed", String(seed)] + settings.flatMap { ["--set", "\($0.name)=\($0.value)"] }
        }
    }

    public var axes: [Axis]
    public var seeds: [Int]

    /// Parses `--set name=v1,v2` texts and the seeds.
    public init(settings: [String], seeds: [Int]) throws {
        guard !seeds.isEmpty else { throw SweepError.noSeeds }
        var axes: [Axis] = []
        for text in settings {
            guard let equals = text.firstIndex(of: "=") else { throw SweepError.badSetting(text) }
            let name = text[..<equals].trimmingCharacters(in: .whitespaces)
            let values = text[text.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard !name.isEmpty, !values.contains(where: \.isEmpty) else { throw SweepError.badSetting(text) }
            guard !axes.contains(where: { $0.name == name }) else { throw SweepError.repeatedName(name) }
            axes.append(Axis(name: name, values: values))
        }
        self.axes = axes
        self.seeds = seeds
    }

    /// Every grid point in order (the first axis outermost), without seeds.
    public var grid: [[Point.Setting]] {
        axes.reduce([[]]) { partial, axis in partial.flatMap { head in axis.values.map { head + [Point.Setting(name: axis.name, value: $0)] } } }
    }

    /// Every run: each grid point with each seed.
    public var points: [Point] {
        grid.flatMap { settings in seeds.map { Point(settings: settings, seed: $0) } }
    }

    /// Where a point's run is: finished, failed (with its error), or still to run.
    public enum State: Sendable, Equatable {
        case finished
        case failed(String)
        case missing
    }

    /// The name of the file a sweep writes into a point's folder when its run fails.
    public static let errorFileName = "error.txt"

    /// The state of `point` in the sweep folder `directory`: finished when its run file says
    /// `complete`; failed when the run file recorded an error or the sweep wrote `error.txt`.
    public static func state(of point: Point, in directory: URL) -> State {
        let folder = directory.appendingPathComponent(point.folder)
        if let run = try? RunReader(url: folder.appendingPathComponent("run.h5")) {
            if run.status == "complete" { return .finished }
            if let error = run.error { return .failed(error.message) }
        }
        if let text = try? String(contentsOf: folder.appendingPathComponent(errorFileName), encoding: .utf8) {
            return .failed(text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return .missing
    }
}

extension String {
    /// A folder name that keeps `=` and `,` of settings and makes anything else unsafe `_`.
    fileprivate var fileNameSafeKeepingSettings: String {
        String(map { $0 == "=" || $0 == "," || $0 == "+" ? $0 : String($0).fileNameSafe.first! })
    }
}
