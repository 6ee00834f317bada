import FixtureSupport
import Foundation
import Testing

/// `rlhf runs` lists run files under a folder and filters them with a recipe-language expression.
@Suite struct RunsCommandTests {
    @Test func listsFiltersAndSortsRuns() throws {
        let dir = try RLHFCommand.temporaryDirectory("runs")
        defer { try? FileManager.default.removeItem(at: dir) }
        try CompareCommandTests.recipe.write(to: dir.appendingPathComponent("tiny.swift"), atomically: true, encoding: .utf8)
        for (name, extra) in [("lr1", ["--set", "learningRate=1e-3"]), ("lr3", [String]()), ("seed6", ["--seed", "6"])] {
            let result = try RLHFCommand.run(["run", "tiny.swift", "--out", "results/group/\(name)"] + extra, directory: dir)
            #expect(result.status == 0, "\(result.stderr)")
        }
        try Data("plain text\n".utf8).write(to: dir.appendingPathComponent("results/notes.h5"))

        let all = try RLHFCommand.run(["runs"], directory: dir)
        #expect(all.status == 0, "\(all.stderr)")
        let lines = all.stdout.split(separator: "\n")
        #expect(lines.count == 5, "\(all.stdout)")
        #expect(lines.first?.hasPrefix("| run | recipe | seed | status | learningRate | sft.learning_rate |") == true, "\(all.stdout)")
        #expect(lines.first?.contains(" loss |") == true)
        #expect(all.stdout.contains("| group/lr1/run.h5 | tiny.swift | 5 | complete | 0.001 | 0.001 |"), "\(all.stdout)")
        #expect(all.stderr.hasPrefix("skipped notes.h5: "), "\(all.stderr)")

        let slow = try RLHFCommand.run(["runs", "results", "--where", #"config["learningRate"] == 0.001"#], directory: dir)
        #expect(slow.status == 0, "\(slow.stderr)")
        #expect(slow.stdout.split(separator: "\n").count == 3 && slow.stdout.contains("group/lr1/run.h5"), "\(slow.stdout)")

        let seeded = try RLHFCommand.run(
            ["runs", "results", "--where", #"config["seed"] == 6 && final["loss"] > 0 && final["eval_exact_match"] >= 0"#, "--csv"], directory: dir)
        #expect(seeded.status == 0, "\(seeded.stderr)")
        let rows = seeded.stdout.split(separator: "\n")
        #expect(rows.count == 2 && rows[1].hasPrefix("group/seed6/run.h5,tiny.swift,6,complete,"), "\(seeded.stdout)")

        let none = try RLHFCommand.run(["runs", "results", "--where", #"final["loss"] < 0"#], directory: dir)
        #expect(none.status == 0 && none.stdout == "no runs under results match --where\n", "\(none.stdout)")

        let sorted = try RLHFCommand.run(["runs", "results", "--sort", "sft.learning_rate:desc", "--csv"], directory: dir)
        #expect(
            sorted.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[0] } == [
                "group/lr3/run.h5", "group/seed6/run.h5", "group/lr1/run.h5",
            ], "\(sorted.stdout)")

        let malformed = try RLHFCommand.run(["runs", "results", "--where", #"config["beta"] == == 0.1"#], directory: dir)
        #expect(malformed.status == 1)
        #expect(malformed.stderr.hasPrefix("error: --where: "), "\(malformed.stderr)")
        #expect(malformed.stderr.contains("(line 1, column 19)"), "\(malformed.stderr)")
        #expect(malformed.stdout.isEmpty)

        let unknown = try RLHFCommand.run(["runs", "results", "--where", #"confg["beta"] == 0.1"#], directory: dir)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("confg") && unknown.stderr.contains("column 1"), "\(unknown.stderr)")
    }
}
