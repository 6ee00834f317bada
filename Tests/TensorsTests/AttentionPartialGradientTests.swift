import Tensors
import Testing

/// Attention's backward writes only the gradients its inputs need (LoRA on `q_proj` alone gives a
/// query that needs one while keys and values do not).
@Test func attentionGradientOfQueryAloneEqualsTheFullBackward() throws {
    var rng = RNG(seed: 9)
    let q = Tensor.randn([2, 4, 5, 8], rng: &rng), k = Tensor.randn([2, 2, 5, 8], rng: &rng), v = Tensor.randn([2, 2, 5, 8], rng: &rng)
    func queryGradient(keysNeedGradient: Bool) throws -> [Float] {
        let qq = q.requiringGrad()
        let kk = keysNeedGradient ? k.requiringGrad() : k.detached(), vv = keysNeedGradient ? v.requiringGrad() : v.detached()
        try causalAttention(q: qq, k: kk, v: vv).square().sum().backward()
        return try #require(qq.grad).data
    }
    for _ in 0..<3 {
        #expect(try queryGradient(keysNeedGradient: false) == queryGradient(keysNeedGradient: true))
    }
}
