import Foundation

// Reward shaping by response length, as OpenRLHF v0.11.0's `trainer/ppo_utils/length_penalty.py`:
// DAPO's soft overlong punishment (Yu et al. 2025, https://arxiv.org/abs/2503.14476, Eq. 13),
// added to the scalar reward before any group baseline.

/// DAPO's soft overlong penalty of one response: 0 up to `maxNewTokens − overlongBufferLen`
/// tokens, then falling linearly to `−overlongPenaltyFactor` at `maxNewTokens`:
/// `−min(length − (maxNewTokens − overlongBufferLen), overlongBufferLen) / overlongBufferLen · factor`
/// when that excess is positive (OpenRLHF's `apply_overlong_penalty`).
///
/// - Parameters:
///   - responseLength: Generated tokens of the response (its stop token included, as OpenRLHF
///     counts `response_length`).
///   - maxNewTokens: The generation limit (`generateMaxLen`).
///   - overlongBufferLen: The length of the band before the limit where the penalty grows; > 0
///     and at most `maxNewTokens`.
///   - overlongPenaltyFactor: The penalty at the limit.
public func overlongPenalty(responseLength: Int, maxNewTokens: Int, overlongBufferLen: Double, overlongPenaltyFactor: Double = 1) throws
    -> Double
{
    guard overlongBufferLen > 0, overlongBufferLen <= Double(maxNewTokens) else {
        throw AlignmentError.invalidArgument(
            function: "overlongPenalty",
            message: "overlongBufferLen must be in (0, maxNewTokens = \(maxNewTokens)], got \(overlongBufferLen)")
    }
    let expected = Double(maxNewTokens) - overlongBufferLen
    let exceed = min(Double(responseLength) - expected, overlongBufferLen)
    return exceed > 0 ? -exceed / overlongBufferLen * overlongPenaltyFactor : 0
}
