import FixtureSupport
import Foundation
import Testing
@testable import Recipes

/// The `rlhf repl` command driven through piped input.
@Suite struct ReplCommandTests {
    @Test func pipedInputThroughTheCommand() throws {
        let input = """
            let xs = [1, 2, 3]
            func total(_ values: [Int]) -> Int {
                values.reduce(0, +)
            }
            total(xs)
            print(undefinedThing)
            :help seed
            print("still here")
            :quit
            print("not reached")

            """
        let result = try RLHFCommand.run(["repl", "--out", FileManager.default.temporaryDirectory.path + "/repl-cmd"], input: input)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout == """
                6
                error: unknown name `undefinedThing` (line 1, column 7)
                    print(undefinedThing)
                          ^
                seed(_ value: Int)
                    Seeds every random stream of the session (weights, data order, sampling).
                    _ value            Int  The seed.
                still here

                """)
    }
}

#if canImport(Glibc)
    import Glibc
#endif

/// `rlhf repl` on a pseudo-terminal, so readline edits the line: tab completion, multi-line input,
/// `:help`, and an error that leaves the session running.
@Suite struct TerminalReplTests {
    /// A child process whose standard streams are the slave side of a pseudo-terminal.
    final class Terminal {
        let master: Int32
        let process = Process()
        var transcript = ""

        init(_ arguments: [String], environment: [String: String]) throws {
            // Glibc's Swift module leaves out the pseudo-terminal calls; look them up in libc.
            typealias OpenPT = @convention(c) (Int32) -> Int32
            typealias PTName = @convention(c) (Int32) -> UnsafeMutablePointer<CChar>?
            func libc<T>(_ name: String, as type: T.Type) -> T? {
                dlsym(UnsafeMutableRawPointer(bitPattern: 0), name).map { unsafeBitCast($0, to: type) }
            }
            guard let openpt = libc("posix_openpt", as: OpenPT.self), let grant = libc("grantpt", as: OpenPT.self),
                let unlock = libc("unlockpt", as: OpenPT.self), let ptsname = libc("ptsname", as: PTName.self)
            else { throw RecipeError(.runtime, "no pseudo-terminal calls") }
            master = openpt(O_RDWR | O_NOCTTY)
            guard master >= 0, grant(master) == 0, unlock(master) == 0, let name = ptsname(master) else {
                throw RecipeError(.runtime, "no pseudo-terminal")
            }
            let slave = open(String(cString: name), O_RDWR | O_NOCTTY)
            guard slave >= 0 else { throw RecipeError(.runtime, "cannot open the pseudo-terminal") }
            let handle = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
            process.executableURL = RLHFCommand.executable
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.standardInput = handle
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            close(slave)
        }

        func send(_ text: String) {
            _ = text.utf8CString.withUnsafeBufferPointer { write(master, $0.baseAddress, $0.count - 1) }
        }

        /// Reads until the transcript since `mark` contains `text`; returns that part.
        @discardableResult
        func read(until text: String, timeout: Double = 20) -> String {
            let start = transcript.count
            let deadline = Date().addingTimeInterval(timeout)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while Date() < deadline {
                if String(transcript.dropFirst(start)).contains(text) { break }
                var fds = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
                guard poll(&fds, 1, 100) > 0 else { continue }
                let n = Glibc.read(master, &buffer, buffer.count)
                if n <= 0 { break }
                transcript += String(decoding: buffer[0..<n], as: UTF8.self)
            }
            return String(transcript.dropFirst(start))
        }

        deinit {
            if process.isRunning { process.terminate() }
            close(master)
        }
    }

    @Test func completionMultiLineHelpAndErrors() throws {
        let dir = try RLHFCommand.temporaryDirectory("pty")
        let terminal = try Terminal(
            ["repl", "--out", dir.path],
            environment: ["RLHF_HISTORY": dir.appendingPathComponent("history").path, "TERM": "dumb"])
        terminal.read(until: "rlhf> ")
        terminal.send("let steps = 3\r")
        terminal.read(until: "rlhf> ")
        // Tab completes a variable and a builtin's label.
        terminal.send("print(ste\t")
        #expect(terminal.read(until: "steps").contains("steps"))
        terminal.send(", separ\t")
        #expect(terminal.read(until: "separator:").contains("separator:"))
        terminal.send("\"-\")\r")
        #expect(terminal.read(until: "rlhf> ").contains("3\r\n"))
        // Open brackets continue the input on the next line.
        terminal.send("for i in 0..<2 {\r")
        #expect(terminal.read(until: "...").contains("..."))
        terminal.send("print(i * 10)\r}\r")
        #expect(terminal.read(until: "10\r\n").contains("0\r\n10\r\n"))
        terminal.send(":help seed\r")
        #expect(terminal.read(until: "The seed.").contains("Seeds every random stream"))
        terminal.send("print(nope)\r")
        #expect(terminal.read(until: "^").contains("unknown name `nope`"))
        terminal.send("print(steps + 1)\r")
        #expect(terminal.read(until: "4\r\n").contains("4\r\n"))
        // Ctrl-C stops a running statement and keeps the session.
        terminal.send("var n = 0\r")
        terminal.read(until: "rlhf> ")
        terminal.send("while true { n += 1 }\r")
        usleep(300_000)
        // What Ctrl-C sends (the child has no controlling terminal to turn ^C into a signal).
        kill(terminal.process.processIdentifier, SIGINT)
        #expect(terminal.read(until: "interrupted").contains("interrupted"))
        terminal.send("print(n > 0)\r")
        #expect(terminal.read(until: "true").contains("true"))
        terminal.send(":quit\r")
        let deadline = Date().addingTimeInterval(10)
        while terminal.process.isRunning && Date() < deadline { usleep(50_000) }
        #expect(!terminal.process.isRunning)
        #expect(terminal.process.terminationStatus == 0)
        let history = try String(contentsOf: dir.appendingPathComponent("history"), encoding: .utf8)
        #expect(history.contains("let steps = 3"))
    }
}
