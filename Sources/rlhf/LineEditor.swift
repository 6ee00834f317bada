import CReadline
import Foundation
import Recipes

/// The REPL's terminal front end on GNU readline: line editing, history in `~/.rlhf_history`,
/// tab completion from the registry and the session, and Ctrl-C that clears the line at the prompt
/// and stops a running statement without ending the session.
final class LineEditor {
    private let repl: Repl
    private let historyPath: String

    init(repl: Repl) {
        self.repl = repl
        let environment = ProcessInfo.processInfo.environment
        historyPath =
            environment["RLHF_HISTORY"]
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".rlhf_history")
    }

    func run() {
        activeRepl = repl
        rl_readline_name = UnsafePointer(strdup("rlhf"))
        rl_attempted_completion_function = completeLine
        // Words end at punctuation, so `task.pro` completes `pro`; `:` stays inside `:help`.
        rl_completer_word_break_characters = UnsafePointer(strdup(" \t\n\"\\'`@$><=;|&{(,.[]+-*/%!?)}"))
        rl_signal_event_hook = clearLineOnInterrupt
        read_history(historyPath)
        print("rlhf repl: recipe statements, :help for builtins and commands, :quit or Ctrl-D to leave.")
        while true {
            guard let raw = readline(repl.prompt) else {
                print()
                break
            }
            let line = String(cString: raw)
            if !line.trimmingCharacters(in: .whitespaces).isEmpty { add_history(raw) }
            free(raw)
            Interrupt.clear()
            if repl.submit(line) == .quit { break }
        }
        write_history(historyPath)
        history_truncate_file(historyPath, 2000)
        activeRepl = nil
    }
}

// C callbacks cannot capture context: the REPL being edited and the pending matches live here.
private nonisolated(unsafe) var activeRepl: Repl?
private nonisolated(unsafe) var pendingMatches: [String] = []

/// Ctrl-C at the prompt: forget the half-typed line (and any open multi-line input), show a fresh prompt.
private func clearLineOnInterrupt() -> Int32 {
    guard Interrupt.isRequested else { return 0 }
    Interrupt.clear()
    activeRepl?.cancelInput()
    rl_replace_line("", 0)
    rl_crlf()
    rl_set_prompt(activeRepl?.prompt ?? "rlhf> ")
    rl_on_new_line()
    rl_redisplay()
    return 0
}

private func completeLine(_ text: UnsafePointer<CChar>?, _ start: Int32, _ end: Int32)
    -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
{
    guard let repl = activeRepl, let buffer = rl_line_buffer else { return nil }
    // readline counts bytes; the REPL counts characters.
    let bytes = Array(
        UnsafeBufferPointer(
            start: UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self),
            count: Int(strlen(buffer))))
    let beforeCursor = String(decoding: bytes.prefix(Int(end)), as: UTF8.self)
    let (wordStart, candidates) = repl.completions(in: beforeCursor)
    if candidates.isEmpty, beforeCursor.hasPrefix(":load ") {
        rl_attempted_completion_over = 0  // let readline complete file names
        return nil
    }
    rl_attempted_completion_over = 1
    guard !candidates.isEmpty else { return nil }
    // Candidates replace readline's word, which may start before the REPL's (`:help Mo` vs `Mo`).
    let ourStart = Array(beforeCursor.prefix(wordStart).utf8).count
    let lead = ourStart > Int(start) ? String(decoding: bytes[Int(start)..<ourStart], as: UTF8.self) : ""
    pendingMatches = candidates.map { lead + $0 }
    if candidates.allSatisfy({ $0.hasSuffix(":") }) { rl_completion_append_character = 32 }
    return rl_completion_matches(text) { _, state in
        if state == 0 { matchIndex = 0 }
        guard matchIndex < pendingMatches.count else { return nil }
        defer { matchIndex += 1 }
        return strdup(pendingMatches[matchIndex])
    }
}

private nonisolated(unsafe) var matchIndex = 0
