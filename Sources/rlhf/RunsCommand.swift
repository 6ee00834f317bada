import ArgumentParser
import Foundation
import Recipes
import Reports

/// `rlhf runs [DIR] --where EXPR`: the run files under a folder, filtered and sorted.
struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List the run files under a folder with their varying config and final metrics.",
        discussion: """
            Lists every .h5 run file under DIR (recursively) with its recipe file, seed, status, the \
            configuration keys that vary across the listed runs and the final value of every metric. \
            --where keeps the runs for which an expression in the recipe language is true; it reads \
            `config` (the --set overrides by name, /config, and stage settings as stage.key) and \
            `final` (last finite values: `loss`, `eval_pass1`, or qualified as `sft/loss`):

              rlhf runs results --where 'config["beta"] == 0.1 && final["eval_pass1"] > 0.5' --sort loss
            """)

    @Argument(help: "The folder to search (default: results).")
    var directory: String = "results"

    @Option(name: .customLong("where"), help: "Keep runs for which this expression is true.")
    var condition: String?

    @Option(help: "Sort by path, recipe, seed, status, a config key or a final metric; KEY:desc sorts descending.")
    var sort: String?

    @Flag(help: "Print CSV instead of a table.")
    var csv = false

    func run() throws {
        var filter: RunFilter?
        if let condition {
            do { filter = try RunFilter(condition) } catch let error as RecipeError { fail("--where: \(error)") }
        }
        var list: RunList
        do { list = try RunList(under: URL(fileURLWithPath: directory)) } catch { fail("\(error)") }
        for (path, reason) in list.skipped { FileHandle.standardError.write(Data("skipped \(path): \(reason)\n".utf8)) }
        if let filter {
            var failures: [String] = []
            let total = list.entries.count
            list.entries = list.entries.filter { entry in
                do {
                    return try filter.matches(config: entry.configuration, final: entry.summary.finals)
                } catch {
                    failures.append("\(entry.path): \(error)")
                    return false
                }
            }
            if !failures.isEmpty {
                if failures.count == total {
                    fail("--where failed for every run; the first: \(failures[0])")
                }
                FileHandle.standardError.write(Data("left out \(failures.count) run(s) where --where failed, e.g. \(failures[0])\n".utf8))
            }
        }
        if let sort { list.sort(by: sort) }
        if csv {
            print(list.csv, terminator: "")
        } else if list.entries.isEmpty {
            print("no runs under \(directory)\(condition == nil ? "" : " match --where")")
        } else {
            print(list.table, terminator: "")
        }
    }
}
