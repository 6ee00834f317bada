import Alignment
import Foundation
import Models
import Tensors

// The actor's and the critic's optimizer steps of the PPO family: the micro-batches of one step
// over the replay buffer, split over the ranks, with the step's metrics.

extension PPOTrainer {
    /// One actor step over `micro`: the PPO clipped loss as one token mean over every action of
    /// the step, plus β·KL (sequence mean) with `useKLLoss`, minus `entropyCoef` × the token-mean
    /// entropy.
    func actorStep(buffer: ReplayBuffer, micro: [[Int]], beta: Double) throws -> OptimizerLoop.StepResult {
        let batches = micro.map { buffer.batch($0, padTokenID: maker.padTokenID) }
        // Rows and tokens the loss counts (a step of masked truncated responses only counts one,
        // and its loss is 0, as TRL clamps the count to 1).
        let tokens = batches.reduce(0) { $0 + $1.sequences.tokenCount }
        let rows = max(batches.reduce(0) { $0 + $1.sequences.unmaskedRows }, 1)
        let temperature = Float(options.temperature)
        let (low, high) = options.clipEpsLowHigh
        let clipLow = Float(low), clipHigh = Float(high), type = options.policyLossType
        // GSPO's loss is a sequence mean (OpenRLHF forces token_level_loss off for it).
        let aggregation: LossAggregation =
            type == .gspo ? .sequenceMean(sequenceCount: rows) : .tokenMean(tokenCount: max(tokens, 1))
        let results = try runMicroBatches(batches.count, parameters: actorLoop.parameters.map(\.tensor), world: stage.context.world) { i in
            let b = batches[i]
            var sums = MetricSums()
            let mask = b.sequences.actionMask
            let (logProbs, logits) = try b.sequences.actionLogProbs(actor, temperature: temperature)
            let pg = try policyLoss(
                logProbs: logProbs, oldLogProbs: b.oldLogProbs, advantages: b.advantages, actionMask: mask,
                clipEpsLow: clipLow, clipEpsHigh: clipHigh, dualClip: options.dualClip.map { Float($0) }, type: type,
                rolloutLogProbs: b.rolloutLogProbs, tisCap: options.tisCap.map { Float($0) },
                seqMaskTIS: options.seqMaskTIS.map { (Float($0[0]), Float($0[1])) }, aggregation: aggregation)
            var total = pg
            if let (low, high) = options.seqMaskTIS.map({ (Float($0[0]), Float($0[1])) }) {
                sums.addTotal("seq_masked", Double(try sequencesMasked(b, low: low, high: high)))
            }
            if let base = b.baseLogProbs {
                let kl = try Tensor.withNoGrad {
                    try computeApproxKL(logProbs: logProbs.detached(), logProbsBase: base, estimator: options.klEstimator, actionMask: mask)
                }
                sums.addTotal("actor_kl", kl.data.reduce(0.0) { $0 + Double($1) })
                if options.useKLLoss {
                    let perToken = try computeApproxKL(
                        logProbs: logProbs, logProbsBase: base, estimator: options.klEstimator,
                        actionMask: mask)
                    let term = try klLoss(perToken, actionMask: mask, aggregation: .sequenceMean(sequenceCount: rows))
                    sums.addTotal("kl_loss", Double(try term.item))
                    total = try total + term * Float(beta)
                }
            }
            if options.entropyCoef != 0 {
                let perToken = try b.sequences.entropy(logits: logits, temperature: temperature)
                let mean = try aggregateLoss(perToken, mask: mask, .tokenMean(tokenCount: max(tokens, 1)))
                total = try total - mean * Float(options.entropyCoef)
            }
            sums.addTotal("entropy", b.sequences.entropySum(logits: logits, temperature: temperature))
            let fraction = try policyClipFraction(
                logProbs: logProbs, oldLogProbs: b.oldLogProbs, advantages: b.advantages,
                actionMask: mask, clipEpsLow: clipLow, clipEpsHigh: clipHigh, type: type)
            sums.addTotal("clipfrac", Double(fraction) * Double(b.sequences.tokenCount))
            var ratioSum = 0.0
            for i in 0..<logProbs.count where mask.data[i] != 0 {
                ratioSum += Foundation.exp(Double(logProbs.data[i]) - Double(b.oldLogProbs.data[i]))
            }
            sums.addTotal("ratio", ratioSum)
            try total.backward()
            sums.addTotal("policy_loss", Double(try pg.item))
            return MicroResult(loss: Double(try total.item), metrics: sums)
        }
        var loss = 0.0
        var sums = MetricSums()
        for result in results {
            loss += result.loss
            sums.merge(result.metrics)
        }
        let totals = sums.values
        let n = Double(max(tokens, 1))
        var metrics: [String: Double] = [
            "policy_loss": totals["policy_loss"] ?? 0, "clipfrac": (totals["clipfrac"] ?? 0) / n, "entropy": (totals["entropy"] ?? 0) / n,
            "ratio": (totals["ratio"] ?? 0) / n, "actor_kl": (totals["actor_kl"] ?? 0) / n,
        ]
        if options.useKLLoss { metrics["kl_loss"] = totals["kl_loss"] ?? 0 }
        if options.seqMaskTIS != nil { metrics["seq_masked"] = (totals["seq_masked"] ?? 0) / Double(rows) }
        return OptimizerLoop.StepResult(loss: loss, metrics: metrics, tokens: tokens)
    }

    /// One critic step over `micro`: the (clipped) value loss as one token mean over the step.
    func criticStep(
        _ critic: ScalarModel, loop: OptimizerLoop, buffer: ReplayBuffer, micro: [[Int]]
    ) throws -> OptimizerLoop.StepResult {
        let batches = micro.map { buffer.batch($0, padTokenID: maker.padTokenID) }
        let tokens = batches.reduce(0) { $0 + $1.sequences.tokenCount }
        let results = try runMicroBatches(batches.count, parameters: loop.parameters.map(\.tensor), world: stage.context.world) { i in
            let b = batches[i]
            let mask = b.sequences.actionMask
            let values = try b.sequences.values(critic)
            guard let oldValues = b.oldValues else { throw TrainingError.invalidData("critic step: the experience has no values") }
            let term = try valueLoss(
                values: values, oldValues: oldValues, returns: b.returns, actionMask: mask,
                clipEps: options.valueClip.map { Float($0) }, aggregation: .tokenMean(tokenCount: max(tokens, 1)))
            var valueSum = 0.0
            for i in 0..<values.count where mask.data[i] != 0 { valueSum += Double(values.data[i]) }
            try term.backward()
            var sums = MetricSums()
            sums.addTotal("values", valueSum)
            return MicroResult(loss: Double(try term.item), metrics: sums)
        }
        var loss = 0.0, valueSum = 0.0
        for result in results {
            loss += result.loss
            valueSum += result.metrics.values["values"] ?? 0
        }
        return OptimizerLoop.StepResult(
            loss: loss, metrics: ["critic_loss": loss, "values": valueSum / Double(max(tokens, 1))],
            tokens: tokens)
    }
}
