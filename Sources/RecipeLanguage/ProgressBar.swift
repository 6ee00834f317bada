import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Progress of long work (a trainer's steps): a redrawn bar with step, loss, tokens/s and ETA on a
/// terminal, plain lines otherwise, nothing in a notebook.
///
/// Progress goes to standard error and never into a result file: it reads the clock.
///
/// ```swift
/// let bar = ProgressBar(label: "dpo", total: steps, style: .automatic)
/// for step in 1...steps { ...; bar.update(step: step, loss: loss, tokens: tokensThisStep) }
/// bar.finish()
/// ```
public final class ProgressBar {
    public enum Style: Equatable {
        /// A bar when standard error is a terminal, lines otherwise.
        case automatic
        case bar
        case lines
        case silent
    }

    public let label: String
    public let total: Int
    private let style: Style
    private let started = Date()
    /// Tokens and time counted from the first update, so the rate leaves out start-up.
    private var tokens = 0
    private var firstUpdate: Date?
    private var lastLine = Date.distantPast
    private var lastStep = 0

    public init(label: String, total: Int, style: Style) {
        self.label = label
        self.total = max(1, total)
        switch style {
        case .automatic: self.style = isatty(STDERR_FILENO) != 0 ? .bar : .lines
        default: self.style = style
        }
    }

    /// Reports that `step` (1-based) finished with `loss`, having processed `tokens` tokens.
    public func update(step: Int, loss: Double? = nil, tokens: Int = 0) {
        let now = Date()
        if firstUpdate == nil { firstUpdate = now } else { self.tokens += tokens }
        let step = min(step, total)
        lastStep = step
        guard style != .silent else { return }
        let elapsed = now.timeIntervalSince(started)
        let measured = now.timeIntervalSince(firstUpdate ?? now)
        let rate = measured > 0 ? Double(self.tokens) / measured : 0
        let eta = step > 0 ? elapsed / Double(step) * Double(max(0, total - step)) : 0
        var fields = ["\(label) \(step)/\(total)"]
        if let loss { fields.append("loss \(formatted(loss, digits: 4))") }
        if self.tokens > 0, rate.isFinite, rate < 1e15 { fields.append("\(Int(rate)) tok/s") }
        fields.append("ETA \(Self.clock(eta))")
        switch style {
        case .bar:
            let width = 24, filled = width * min(step, total) / total
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            emit("\r\u{1B}[2K\(bar) " + fields.joined(separator: "  "))
        case .lines:
            // One line every 10% and at least every 10 seconds, so logs stay readable.
            let tick = max(1, total / 10)
            guard step == total || step % tick == 0 || now.timeIntervalSince(lastLine) >= 10 else { return }
            lastLine = now
            emit(fields.joined(separator: "  ") + "\n")
        default:
            break
        }
    }

    /// Ends the bar's line.
    public func finish() {
        if style == .bar { emit("\n") }
    }

    private func emit(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 1e9 else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
            : String(format: "%d:%02d", s / 60, s % 60)
    }
}
