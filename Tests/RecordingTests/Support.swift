import Foundation
import Recording
import Testing

/// A fresh temporary folder for one test.
func temporaryDirectory(_ label: String = #function) throws -> URL {
    let safe = label.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("swift-rlhf-recording-\(safe)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The synthetic buffer of tensor `t` at `step`: exact in Float32, so numpy rebuilds it bit for bit.
///
/// h = (i·2654435761 + step·40503 + t·97) mod 2³², x = Float((h mod 20001) - 10000) · 1e-4 · scale(t),
/// with scale(t) = Float(t + 1) · 0.25 and an offset of t·0.5 on odd tensors (so the mean is not 0).
func syntheticBuffer(tensor t: Int, step: Int, count: Int) -> [Float] {
    let scale = Float(t + 1) * 0.25
    let offset = t % 2 == 1 ? Float(t) * 0.5 : 0
    return (0..<count).map { i in
        let h = (UInt64(i) &* 2_654_435_761 &+ UInt64(step) &* 40503 &+ UInt64(t) &* 97) % 4_294_967_296
        return Float(Int(h % 20001) - 10000) * Float(1e-4) * scale + offset
    }
}

/// The same generator in numpy, for scripts that check a run file independently.
let numpySyntheticBuffer = """
    import numpy as np
    def synthetic(t, step, count):
        i = np.arange(count, dtype=np.uint64)
        h = (i * np.uint64(2654435761) + np.uint64(step * 40503) + np.uint64(t * 97)) % np.uint64(2**32)
        x = (h % np.uint64(20001)).astype(np.int64) - 10000
        scale = np.float32(t + 1) * np.float32(0.25)
        offset = np.float32(t) * np.float32(0.5) if t % 2 == 1 else np.float32(0)
        return x.astype(np.float32) * np.float32(1e-4) * scale + offset
    def stats(x):
        f = x[np.isfinite(x)].astype(np.float64)
        n = f.size
        if n == 0:
            return [np.nan, np.nan, np.nan, np.nan, np.nan, 0.0, float(x.size)]
        std = f.std(ddof=1) if n > 1 else np.nan
        return [f.mean(), std, f.min(), f.max(), np.abs(f).max(), np.sqrt((f * f).sum()), float(x.size - n)]
    def close(a, b, rtol=1e-9, atol=1e-12):
        a = np.asarray(a, dtype=np.float64); b = np.asarray(b, dtype=np.float64)
        return a.shape == b.shape and bool(np.all((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= atol + rtol * np.abs(b))))
    """

/// The statistics of a buffer computed the plain two-pass way, as a reference.
func referenceStatistics(_ values: [Float]) -> TensorStatistics {
    let finite = values.filter(\.isFinite).map(Double.init)
    let n = finite.count
    guard n > 0 else {
        return TensorStatistics(mean: .nan, std: .nan, min: .nan, max: .nan, absmax: .nan, l2: 0, nonfinite: values.count)
    }
    let mean = finite.reduce(0, +) / Double(n)
    let variance = finite.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
    return TensorStatistics(
        mean: mean, std: n > 1 ? variance.squareRoot() : .nan, min: finite.min()!, max: finite.max()!,
        absmax: finite.map(abs).max()!, l2: finite.reduce(0) { $0 + $1 * $1 }.squareRoot(),
        nonfinite: values.count - n)
}

/// Whether two statistics agree to `tolerance` (relative), NaN matching NaN.
func approximatelyEqual(_ a: TensorStatistics, _ b: TensorStatistics, tolerance: Double = 1e-9) -> Bool {
    zip(a.row, b.row).allSatisfy { x, y in
        (x.isNaN && y.isNaN) || x == y || abs(x - y) <= tolerance * max(abs(x), abs(y), 1e-300) + 1e-13
    }
}

/// Runs a Python script with h5py, passing `arguments`; returns stdout. A missing h5py is a
/// failure that says how to install it, never a skip.
@discardableResult
func runPython(_ script: String, _ arguments: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws
    -> String
{
    let check = try python(["-c", "import h5py, numpy"])
    if check.status != 0 {
        Issue.record(
            "python3 with h5py and numpy is required by this test and is not importable (\(check.stderr.trimmingCharacters(in: .whitespacesAndNewlines))). Run scripts/setup, which installs it.",
            sourceLocation: sourceLocation)
        throw PythonError.unavailable
    }
    let result = try python(["-c", script] + arguments)
    if result.status != 0 {
        Issue.record("python3 failed (\(result.status)):\n\(result.stdout)\n\(result.stderr)", sourceLocation: sourceLocation)
        throw PythonError.failed(result.stderr)
    }
    return result.stdout
}

enum PythonError: Error { case unavailable, failed(String) }

private func python(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3"] + arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes at once so a chatty script cannot block on a full pipe.
    let errBox = DataBox()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errBox.data = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    let errData = errBox.data
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

private final class DataBox: @unchecked Sendable { var data = Data() }
