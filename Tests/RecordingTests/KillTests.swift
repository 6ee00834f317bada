import Foundation
import Recording
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Nothing lost")
struct KillTests {
    /// A forked child records synthetic steps as fast as it can and writes one byte to a pipe after
    /// each commit; the parent kills it with SIGKILL after `least` commits, at a different moment
    /// each round, then reads the file with our reader and with h5py.
    @Test(arguments: [(12, 0), (15, 300), (20, 1100), (25, 2500), (30, 4000)])
    func aRunKilledMidStepKeepsEveryCommittedStep(least: Int, extraMicroseconds: UInt32) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("killed.h5").path
        // Warm the code paths in this process first, so the child runs no first-time setup.
        try SyntheticRun.write(to: dir.appendingPathComponent("warm.h5").path, steps: 3)

        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let pid = fork()
        if pid == 0 {
            close(fds[0])
            childRecords(path: path, signal: fds[1])
        }
        #expect(pid > 0)
        close(fds[1])
        var committed = 0
        var byte: UInt8 = 0
        // Wait at most a minute for each commit, so a child that hangs fails the test.
        var reader = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
        while committed < least, poll(&reader, 1, 60_000) == 1, read(fds[0], &byte, 1) == 1 { committed += 1 }
        usleep(extraMicroseconds)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(fds[0])
        #expect(committed == least, "the child stopped after \(committed) steps")
        #expect(status & 0x7f == SIGKILL, "the child was not killed but ended with status \(status)")

        let run = try RunReader(path: path)
        #expect(run.status == "running")
        let sft = try run.stage("sft")
        #expect(sft.committedSteps >= least)
        let problems = try SyntheticRun.check(sft, steps: sft.committedSteps, killed: true)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        let output = try runPython(h5pySyntheticCheck, [path, String(least), "1"])
        #expect(Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) == sft.committedSteps)
    }
}

/// The child's loop: record steps until killed; never returns.
private func childRecords(path: String, signal fd: Int32) -> Never {
    do {
        let run = try RunFile.create(at: path, attributes: SyntheticRun.attributes)
        try run.setConfig(["learningRate": 3e-3, "packing": true, "epochs": 2, "optimizer": "adamw", "betas": .doubles([0.9, 0.95])])
        let stage = try run.stage("sft")
        for step in 0..<100_000 {
            try SyntheticRun.record(step: step, into: stage)
            var byte: UInt8 = 1
            _ = write(fd, &byte, 1)
        }
    } catch {
        FileHandle.standardError.write(Data("child: \(error)\n".utf8))
    }
    _exit(1)
}
