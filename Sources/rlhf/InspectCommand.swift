import ArgumentParser
import Foundation
import Recording
import Reports

/// `rlhf inspect RUN.h5`: what a run file holds, with sparklines, or chosen columns as CSV.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a run file's contents and sparklines of its metrics, or export columns as CSV.",
        discussion: """
            Prints the root attributes, the config, every stage with its committed step count, any error \
            the run recorded, a sparkline per metric, and every dataset with its shape.

            A column is a metric name (loss), an eval metric (eval/accuracy), one statistic of a \
            parameter (model.norm.weight/grad/l2; kinds value, grad, update; statistics mean, std, \
            min, max, absmax, l2, nonfinite) or of a layer's activations (activations/model.layers.0/std).

              rlhf inspect runs/quickstart.h5 --metrics loss,kl --stage grpo
              rlhf inspect runs/quickstart.h5 --csv loss eval/accuracy > loss.csv
            """)

    @Argument(help: "The run file (.h5).")
    var file: String

    @Option(help: ArgumentHelp("Columns to draw sparklines of, comma-separated (default: every metric).", valueName: "a,b"))
    var metrics: String?

    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp("Write these columns as CSV (stage,step,columns...) to standard output instead.", valueName: "column"))
    var csv: [String] = []

    @Option(help: "Only this stage.")
    var stage: String?

    @Option(help: "Sparkline width in characters.")
    var width: Int = 48

    @Flag(help: "Print the recipe source recorded in the run file and nothing else.")
    var recipe = false

    func run() throws {
        do {
            try RunReader.checkIntact(path: file)
            let run = try RunReader(path: file)
            if recipe {
                print(run.attributes["recipe"]?.stringValue ?? "", terminator: "")
                return
            }
            let columns = csv.flatMap { $0.split(separator: ",").map(String.init) }
            if !columns.isEmpty {
                print(try Inspector.csv(run, columns: columns, stage: stage), terminator: "")
                return
            }
            let chosen = metrics.map { $0.split(separator: ",").map(String.init) }
            print(try Inspector.describe(run, columns: chosen, stage: stage, width: max(1, width)), terminator: "")
        } catch let error as RunFileError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
