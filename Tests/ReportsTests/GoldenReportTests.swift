// The report of a fixed run, byte for byte: `report.md` and one chart, committed under
// Tests/Fixtures/golden-report. A change to what reports say or how charts are drawn fails here.
//
// When the change is intended, rewrite the golden files and commit them with the change:
//
//     RLHF_UPDATE_GOLDEN=1 swift test --filter GoldenReportTests

import FixtureSupport
import Foundation
import Recording
import Reports
import Testing

@Suite("Golden report")
struct GoldenReportTests {
    /// The committed files: the markdown and the first stage's loss chart.
    static let goldenNames = ["report.md", "sft-losses.svg"]
    static let folder = Fixtures.root.appendingPathComponent("golden-report")

    @Test func reportOfTheFixtureRunMatchesTheGoldenFiles() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.h5").path
        try ReportFixture.write(to: path)
        let files = try Report.render(RunReader(path: path))
        let update = ProcessInfo.processInfo.environment["RLHF_UPDATE_GOLDEN"] == "1"
        for name in Self.goldenNames {
            let rendered = try #require(files.first { $0.name == name }, "the report has no \(name)")
            let url = Self.folder.appendingPathComponent(name)
            if update {
                try FileManager.default.createDirectory(at: Self.folder, withIntermediateDirectories: true)
                try Data(rendered.contents.utf8).write(to: url)
                continue
            }
            let golden = try String(contentsOf: url, encoding: .utf8)
            let same = rendered.contents == golden
            #expect(
                same,
                "\(name) differs from Tests/Fixtures/golden-report/\(name) (first difference at line \(firstDifferentLine(rendered.contents, golden))); if the change is intended, run RLHF_UPDATE_GOLDEN=1 swift test --filter GoldenReportTests and commit the files"
            )
        }
    }

    /// The 1-based number of the first line where `a` and `b` differ.
    func firstDifferentLine(_ a: String, _ b: String) -> Int {
        let (x, y) = (a.split(separator: "\n", omittingEmptySubsequences: false), b.split(separator: "\n", omittingEmptySubsequences: false))
        return (zip(x, y).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(x.count, y.count)) + 1
    }
}
