import Foundation

/// An error in the arguments of a loss or estimator: which function, what it got, and the fix.
public enum AlignmentError: Error, CustomStringConvertible, Equatable {
    /// Shapes that do not fit together.
    case shape(function: String, message: String)
    /// A value out of its range, or an option that does not apply.
    case invalidArgument(function: String, message: String)
    /// A group estimator (rloo, reinforce_baseline, group_norm, dr_grpo) given one sample per
    /// prompt, where its baseline would compare a response with no others.
    case groupTooSmall(estimator: String, nSamplesPerPrompt: Int)

    public var description: String {
        switch self {
        case .shape(let function, let message): return "\(function): \(message)"
        case .invalidArgument(let function, let message): return "\(function): \(message)"
        case .groupTooSmall(let estimator, let n):
            return "\(estimator) needs nSamplesPerPrompt >= 2, got \(n): its baseline compares each response "
                + "with the other responses to the same prompt, and there are none. "
                + "Sample several responses per prompt, or use the 'reinforce' or 'gae' estimator."
        }
    }
}
