// On-policy distillation's loss (GKD's generalized JSD: reverse KL, forward KL and between)
// against TRL v1.16.0's `GKDTrainer.generalized_jsd_loss`, forward and gradient.

import Alignment
import FixtureSupport
import Foundation
import Testing
import Tensors

@Suite struct GKDFixtureTests {
    @Test(arguments: ReferenceCase.all("gkd_loss.json"))
    func generalizedJSDMatchesTRL(_ c: ReferenceCase) throws {
        try c.check { f in
            let student = try f.file.inputs.tensor("student_logits", requiresGrad: true)
            let teacher = try f.file.inputs.tensor("teacher_logits"), mask = try f.file.inputs.tensor("loss_mask")
            let loss = try gkdLoss(
                studentLogits: student, teacherLogits: teacher, lossMask: mask, beta: Float(try f.params.double("beta")),
                temperature: Float(try f.params.double("temperature")),
                tokenCount: f.params.has("num_items_in_batch") ? Int(try f.params.double("num_items_in_batch")) : nil)
            try loss.backward()
            return ["loss": loss, "grad_student_logits": student.gradOrZeros]
        }
    }

    @Test func theDivergenceIsZeroWhenStudentAndTeacherAgree() throws {
        let logits = Tensor(shape: [1, 2, 3], data: [0.5, -1, 2, 0, 0, 1])
        for beta: Float in [0, 0.5, 1] {
            let d = try generalizedJSD(studentLogits: logits, teacherLogits: logits, beta: beta)
            #expect(d.data.allSatisfy { abs($0) < 1e-6 })
        }
        #expect(throws: AlignmentError.self) { try generalizedJSD(studentLogits: logits, teacherLogits: logits, beta: 1.5) }
    }
}
