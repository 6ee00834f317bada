import Foundation

/// One recorded operation: its inputs and the function that maps the output's gradient to theirs.
final class Node {
    let inputs: [Tensor]
    /// Given d(loss)/d(output), returns d(loss)/d(input) for each input (nil where not needed).
    let backward: ([Float]) throws -> [[Float]?]

    init(inputs: [Tensor], backward: @escaping ([Float]) throws -> [[Float]?]) {
        self.inputs = inputs
        self.backward = backward
    }
}

/// Nesting depth of `withNoGrad` scopes on the current thread; operations are recorded only at
/// depth 0. Per thread, because tensors never cross threads but tests run concurrently.
final class NoGradDepth {
    nonisolated(unsafe) static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { if let p = $0 { Unmanaged<NoGradDepth>.fromOpaque(p).release() } }
        return key
    }()
    var value = 0
    /// Nesting depth of `withBlockRecompute(true)` scopes (see Checkpoint.swift).
    var recompute = 0
    /// The most elements an operation returned (see `Tensor.largestActivationCount`).
    var largestResult = 0

    static var current: NoGradDepth {
        if let p = pthread_getspecific(key) { return Unmanaged<NoGradDepth>.fromOpaque(p).takeUnretainedValue() }
        let depth = NoGradDepth()
        pthread_setspecific(key, Unmanaged.passRetained(depth).toOpaque())
        return depth
    }
}

var noGradDepth: Int {
    get { NoGradDepth.current.value }
    set { NoGradDepth.current.value = newValue }
}

extension Tensor {
    /// Whether new operations are recorded on the tape.
    public static var isGradEnabled: Bool { noGradDepth == 0 }

    /// Runs `body` without recording operations: for evaluation, sampling and reference models.
    public static func withNoGrad<T>(_ body: () throws -> T) rethrows -> T {
        noGradDepth += 1
        defer { noGradDepth -= 1 }
        return try body()
    }

    /// Wraps an operation's result: attaches `backward` when any input needs a gradient.
    ///
    /// `backward` receives the output gradient (same count as `data`) and returns one gradient per
    /// input, each the size of that input, or nil for inputs that need none.
    static func result(
        shape: [Int], data: [Float], inputs: [Tensor],
        backward: @escaping ([Float]) throws -> [[Float]?]
    ) -> Tensor {
        let out = Tensor(shape: shape, data: data)
        let state = NoGradDepth.current
        if data.count > state.largestResult { state.largestResult = data.count }
        if state.value == 0 && inputs.contains(where: { $0.requiresGrad }) {
            out.requiresGrad = true
            out.node = Node(inputs: inputs, backward: backward)
        }
        return out
    }

    /// Whether this tensor was produced by a recorded operation (as opposed to being a leaf).
    public var isLeaf: Bool { node == nil }

    /// Back-propagates from this tensor, accumulating into the `.grad` of every leaf that requires it.
    ///
    /// A scalar starts from 1; any other shape needs `gradient` (same count). The graph is freed
    /// afterwards, so the tensors it held are released; call `backward` once per forward.
    public func backward(_ gradient: [Float]? = nil) throws {
        guard requiresGrad else {
            throw TensorError.backward(
                "the tensor does not require a gradient (was it computed under withNoGrad, or from tensors without requiresGrad?)")
        }
        let seed: [Float]
        if let gradient {
            guard gradient.count == count else {
                throw TensorError.backward("gradient has \(gradient.count) elements, tensor \(shape) has \(count)")
            }
            seed = gradient
        } else {
            guard count == 1 else {
                throw TensorError.backward("a tensor of shape \(shape) needs an explicit gradient; reduce it to a scalar first")
            }
            seed = [1]
        }

        // Post-order DFS gives a topological order (inputs before outputs).
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            if !visited.insert(ObjectIdentifier(t)).inserted { continue }
            stack.append((t, true))
            if let node = t.node {
                for input in node.inputs where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                    stack.append((input, false))
                }
            }
        }

        var grads: [ObjectIdentifier: [Float]] = [ObjectIdentifier(self): seed]
        for t in order.reversed() {
            guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { continue }
            guard let node = t.node else {
                t.accumulateGrad(g)
                continue
            }
            let inputGrads = try node.backward(g)
            for (input, ig) in zip(node.inputs, inputGrads) {
                guard input.requiresGrad, let ig else { continue }
                let key = ObjectIdentifier(input)
                if var existing = grads[key] {
                    grads[key] = nil
                    addInPlace(&existing, ig)
                    grads[key] = existing
                } else {
                    grads[key] = ig
                }
            }
        }
        for t in order where t.node != nil { t.node = nil }
    }

    /// Adds `g` into `.grad` (creating it on first use).
    func accumulateGrad(_ g: [Float]) {
        if let existing = grad {
            addInPlace(&existing.data, g)
        } else {
            grad = Tensor(shape: shape, data: g)
        }
    }
}

/// `a += b`, element-wise, vectorised.
@inline(__always) func addInPlace(_ a: inout [Float], _ b: [Float]) {
    a.withUnsafeMutableBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            for i in 0..<pa.count { pa[i] += pb[i] }
        }
    }
}
