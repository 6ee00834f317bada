// Read-only bytes of a weight file: memory-mapped when read from disk, so opening a 100 MB GGUF
// costs nothing until a tensor is touched, or an owned copy when built from bytes in memory.

import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The immutable bytes of one weight file.
final class FileBytes: @unchecked Sendable {
    let base: UnsafeRawPointer?
    let count: Int
    private let mapped: Bool

    /// Maps `url` read-only.
    init(mapping url: URL) throws {
        let path = url.path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw WeightFileError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw WeightFileError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw WeightFileError.cannotOpen(path: path, reason: "not a regular file")
        }
        count = Int(info.st_size)
        mapped = count > 0
        if count == 0 {
            base = nil
            return
        }
        let pointer = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let pointer, pointer != MAP_FAILED else {
            throw WeightFileError.cannotOpen(path: path, reason: "mmap failed: " + String(cString: strerror(errno)))
        }
        base = UnsafeRawPointer(pointer)
    }

    /// Copies `bytes`.
    init<C: Collection>(copying bytes: C) where C.Element == UInt8 {
        count = bytes.count
        mapped = false
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
        UnsafeMutableRawBufferPointer(start: buffer, count: count).copyBytes(from: bytes)
        base = UnsafeRawPointer(buffer)
    }

    deinit {
        guard let base else { return }
        if mapped {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        } else {
            base.deallocate()
        }
    }

    /// The bytes in `range`, which the caller has checked lies inside the file.
    func buffer(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base.map { $0 + range.lowerBound }, count: range.count)
    }
}

/// Reads little-endian values from a byte buffer, reporting a truncated file instead of reading
/// past its end.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    mutating func need(_ count: Int, _ what: @autoclosure () -> String) throws {
        if count < 0 || offset > bytes.count - count {
            throw WeightFileError.truncated(
                path: path, reason: "\(what()) needs \(count) bytes at offset \(offset), but the file has \(bytes.count) bytes")
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return value
    }

    mutating func readBytes(_ count: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        try need(count, what())
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
        offset += count
        return slice
    }
}
