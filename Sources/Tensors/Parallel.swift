import CBLAS
import Dispatch
import Foundation

/// The worker threads that kernels share.
///
/// Work is split into blocks whose boundaries depend on the problem's shape only, never on the
/// thread count, so a result has the same bits on 1 thread and on many: a block gives the same
/// bits whichever thread runs it, and no sum is ever split across blocks. OpenBLAS itself is kept
/// at one thread because its own threading changes the last bits of `sgemm` with the thread count.
public enum Parallel {
    /// Threads used by kernels (default: the machine's cores). Set it before work starts.
    nonisolated(unsafe) public static var threads: Int = {
        _ = Parallel.singleThreadedBLAS
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Puts OpenBLAS at one thread, once, before the first product: its own threads would change the
    /// last bits of `sgemm` with the thread count. Every BLAS call in this module reads it first.
    ///
    /// It also asks glibc's allocator to keep freed memory for reuse (buffers up to 32 MB from the
    /// heap instead of fresh mappings, and no trimming below 1 GB): otherwise every tensor buffer of
    /// a training step is unmapped when freed and page-faulted in again on the next step, which
    /// measured ~2x slower than the arithmetic on element-wise forward/backward loops. This changes
    /// no result, only where buffers come from.
    static let singleThreadedBLAS: Void = {
        openblas_set_num_threads(1)
        keepFreedMemory()
    }()

    /// Runs `body(i)` for every `i` in `0..<count`, spread over the worker threads.
    ///
    /// `body` must only write memory that block `i` owns.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) { perform(count, body) }

    /// Runs `body(i)` for every `i` in `0..<count`; each index goes to whichever thread is free
    /// (the caller included), so a thread the OS has not scheduled yet holds nothing up. Nested
    /// and concurrent calls run on the calling thread. `body` must only write memory that index
    /// `i` owns.
    public static func perform(_ count: Int, _ body: (Int) -> Void) {
        let threads = Parallel.threads
        if count <= 1 || threads <= 1 || !pool(threads - 1).run(count, helpers: threads - 1, body) {
            for i in 0..<count { body(i) }
        }
    }

    private static let poolLock = NSLock()
    nonisolated(unsafe) private static var sharedPool: WorkerPool?

    /// The shared pool, with at least `workers` threads. When `threads` grows, a larger pool
    /// replaces it; the old one's threads stay asleep for the life of the process.
    private static func pool(_ workers: Int) -> WorkerPool {
        poolLock.lock()
        defer { poolLock.unlock() }
        if let pool = sharedPool, pool.workers >= workers { return pool }
        let pool = WorkerPool(workers: workers)
        sharedPool = pool
        return pool
    }

    /// Splits `0..<rows` into chunks of at least `minRows` (at most `maxChunks` chunks) and runs
    /// `body` on each in parallel. Chunk boundaries depend on `rows`, `minRows` and `maxChunks` only.
    public static func rows(_ rows: Int, minRows: Int = 1, maxChunks: Int = 8, _ body: (Range<Int>) -> Void) {
        guard rows > 0 else { return }
        let chunks = max(1, min(maxChunks, rows / max(1, minRows)))
        if chunks == 1 { body(0..<rows); return }
        forEach(chunks) { c in
            let lo = rows * c / chunks, hi = rows * (c + 1) / chunks
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// C = alpha * op(A) * op(B) + beta * C on row-major buffers, split deterministically.
///
/// op(A) is M×K, op(B) is K×N, C is M×N. `lda`, `ldb`, `ldc` are the row strides of the buffers as
/// stored (so for `transA`, A is stored K×M with `lda >= M`).
public func sgemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    guard m > 0 && n > 0 else { return }
    _ = Parallel.singleThreadedBLAS
    if k == 0 {
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    let ta = transA ? CblasTrans : CblasNoTrans
    let tb = transB ? CblasTrans : CblasNoTrans
    let flops = 2 * m * n * k
    // Blocks: one below ~2 MFLOP; else cut the larger output side into large blocks.
    let blocks = flops < (1 << 21) ? 1 : (max(m, n) >= 256 ? 4 : 2)
    if blocks == 1 {
        cblas_sgemm(
            CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
            beta, c, Int32(ldc))
        return
    }
    let splitRows = m >= n
    let extent = splitRows ? m : n
    let aAddress = Int(bitPattern: a), bAddress = Int(bitPattern: b), cAddress = Int(bitPattern: c)
    Parallel.forEach(blocks) { blk in
        let lo = extent * blk / blocks, hi = extent * (blk + 1) / blocks
        guard lo < hi else { return }
        let a = UnsafePointer<Float>(bitPattern: aAddress)!
        let b = UnsafePointer<Float>(bitPattern: bAddress)!
        let c = UnsafeMutablePointer<Float>(bitPattern: cAddress)!
        if splitRows {
            // Rows lo..<hi of op(A): rows of A, or columns of A when transposed.
            let aBlock = transA ? a + lo : a + lo * lda
            cblas_sgemm(
                CblasRowMajor, ta, tb, Int32(hi - lo), Int32(n), Int32(k), alpha, aBlock, Int32(lda),
                b, Int32(ldb), beta, c + lo * ldc, Int32(ldc))
        } else {
            // Columns lo..<hi of op(B): columns of B, or rows of B when transposed.
            let bBlock = transB ? b + lo * ldb : b + lo
            cblas_sgemm(
                CblasRowMajor, ta, tb, Int32(m), Int32(hi - lo), Int32(k), alpha, a, Int32(lda),
                bBlock, Int32(ldb), beta, c + lo, Int32(ldc))
        }
    }
}

/// One `sgemm` on the calling thread, never split: for kernels that already run in parallel over
/// independent problems (attention heads), where the bits depend on the problem's shape only.
func sgemmSerial(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    guard m > 0 && n > 0 else { return }
    _ = Parallel.singleThreadedBLAS
    if k == 0 {
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
        return
    }
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// glibc `mallopt(M_MMAP_THRESHOLD, 32 MB)` and `mallopt(M_TRIM_THRESHOLD, 1 GB)`, looked up at
/// run time (a no-op where the C library has no `mallopt`).
private func keepFreedMemory() {
    #if os(Linux)
        guard let symbol = dlsym(nil, "mallopt") else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let mmapThreshold: Int32 = -3, trimThreshold: Int32 = -1  // M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
        _ = mallopt(mmapThreshold, 32 << 20)
        _ = mallopt(trimThreshold, 1 << 30)
    #endif
}
