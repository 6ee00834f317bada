// Extendable chunked datasets (columns) and the row groups (tables) that share one step axis.
//
// A column grows a whole chunk at a time, so extending it rarely touches HDF5 metadata; rows past
// the table's committed count hold the fill value (NaN for floats, -1 for integers) until written.
// When the file is closed every column is trimmed to its committed length.

import CHDF5

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The element types of run-file datasets.
enum ColumnType {
    case float64, int64, int32, string

    /// The little-endian type stored in the file (strings: variable-length UTF-8, owned by caller).
    func fileType() -> hid_t {
        switch self {
        case .float64: return rlhf_H5T_IEEE_F64LE()
        case .int64: return rlhf_H5T_STD_I64LE()
        case .int32: return rlhf_H5T_STD_I32LE()
        case .string: return HDF5.stringType()
        }
    }

    /// The type of the values in memory.
    func memoryType() -> hid_t {
        switch self {
        case .float64: return rlhf_H5T_NATIVE_DOUBLE()
        case .int64: return rlhf_H5T_NATIVE_INT64()
        case .int32: return rlhf_H5T_NATIVE_INT32()
        case .string: return HDF5.stringType()
        }
    }
}

/// One extendable, chunked dataset of shape [rows] (width 0) or [rows, width].
final class Column {
    let id: hid_t
    let type: ColumnType
    let width: Int
    let chunkRows: Int
    private(set) var capacity: Int
    private let memType: hid_t
    private var closed = false
    /// The dataset's file space and a one-row memory space, kept between writes (one row per
    /// step is the common case); the file space is fetched again after each resize.
    private var fileSpace: hid_t = -1
    private var rowSpace: hid_t = -1

    private init(id: hid_t, type: ColumnType, width: Int, chunkRows: Int, capacity: Int) {
        self.id = id
        self.type = type
        self.width = width
        self.chunkRows = chunkRows
        self.capacity = capacity
        self.memType = type.memoryType()
    }

    /// Creates `name` in `group`, sized for at least `rows` rows (all fill values).
    static func create(
        in group: hid_t, name: String, type: ColumnType, width: Int = 0, chunkRows: Int, rows: Int,
        attributes: [(String, ConfigValue)] = []
    ) -> Column? {
        let capacity = roundUp(max(rows, 1), chunkRows)
        let rank: Int32 = width > 0 ? 2 : 1
        var dims: [hsize_t] = width > 0 ? [hsize_t(capacity), hsize_t(width)] : [hsize_t(capacity)]
        var maxDims: [hsize_t] = width > 0 ? [rlhf_H5S_UNLIMITED(), hsize_t(width)] : [rlhf_H5S_UNLIMITED()]
        var chunk: [hsize_t] = width > 0 ? [hsize_t(chunkRows), hsize_t(width)] : [hsize_t(chunkRows)]
        let space = H5Screate_simple(rank, &dims, &maxDims)
        defer { H5Sclose(space) }
        let plist = H5Pcreate(rlhf_H5P_DATASET_CREATE())
        defer { H5Pclose(plist) }
        H5Pset_chunk(plist, rank, &chunk)
        H5Pset_obj_track_times(plist, false)
        switch type {
        case .float64:
            var fill = Double.nan
            H5Pset_fill_value(plist, rlhf_H5T_NATIVE_DOUBLE(), &fill)
        case .int64:
            var fill: Int64 = -1
            H5Pset_fill_value(plist, rlhf_H5T_NATIVE_INT64(), &fill)
        case .int32:
            var fill: Int32 = -1
            H5Pset_fill_value(plist, rlhf_H5T_NATIVE_INT32(), &fill)
        case .string:
            break
        }
        let fileType = type.fileType()
        defer { if type == .string { H5Tclose(fileType) } }
        let id = H5Dcreate2(group, name, fileType, space, rlhf_H5P_DEFAULT(), plist, rlhf_H5P_DEFAULT())
        guard id >= 0 else { return nil }
        for (key, value) in attributes {
            guard HDF5.writeAttribute(id, key, value) else {
                H5Dclose(id)
                return nil
            }
        }
        return Column(id: id, type: type, width: width, chunkRows: chunkRows, capacity: capacity)
    }

    /// Makes room for `rows` rows, growing by whole chunks.
    func reserve(_ rows: Int) -> Bool {
        guard rows > capacity else { return true }
        return resize(roundUp(rows, chunkRows))
    }

    /// Sets the extent to exactly `rows` rows (at close, so finished files hold no fill rows).
    func trim(to rows: Int) -> Bool {
        rows == capacity ? true : resize(rows)
    }

    private func resize(_ rows: Int) -> Bool {
        var dims: [hsize_t] = width > 0 ? [hsize_t(rows), hsize_t(width)] : [hsize_t(rows)]
        guard H5Dset_extent(id, &dims) >= 0 else { return false }
        capacity = rows
        if fileSpace >= 0 {
            H5Sclose(fileSpace)
            fileSpace = -1
        }
        return true
    }

    /// Writes `count` rows starting at `row` from `data` (count × max(width, 1) elements).
    func write(row: Int, count: Int, _ data: UnsafeRawPointer) -> Bool {
        guard count > 0 else { return true }
        guard reserve(row + count) else { return false }
        if fileSpace < 0 {
            fileSpace = H5Dget_space(id)
            guard fileSpace >= 0 else { return false }
        }
        var start: (hsize_t, hsize_t) = (hsize_t(row), 0)
        var extent: (hsize_t, hsize_t) = (hsize_t(count), hsize_t(width))
        let rank: Int32 = width > 0 ? 2 : 1
        let selected = withUnsafePointer(to: &start) { startPointer in
            withUnsafePointer(to: &extent) { extentPointer in
                startPointer.withMemoryRebound(to: hsize_t.self, capacity: 2) { s in
                    extentPointer.withMemoryRebound(to: hsize_t.self, capacity: 2) { e in
                        H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, s, nil, e, nil)
                    }
                }
            }
        }
        guard selected >= 0 else { return false }
        func memorySpace() -> hid_t {
            withUnsafePointer(to: &extent) { pointer in
                pointer.withMemoryRebound(to: hsize_t.self, capacity: 2) { H5Screate_simple(rank, $0, nil) }
            }
        }
        if count == 1 {
            if rowSpace < 0 { rowSpace = memorySpace() }
            guard rowSpace >= 0 else { return false }
            return H5Dwrite(id, memType, rowSpace, fileSpace, rlhf_H5P_DEFAULT(), data) >= 0
        }
        let memSpace = memorySpace()
        guard memSpace >= 0 else { return false }
        defer { H5Sclose(memSpace) }
        return H5Dwrite(id, memType, memSpace, fileSpace, rlhf_H5P_DEFAULT(), data) >= 0
    }

    /// Writes one value per row for `values.count` rows starting at `row`.
    func write(row: Int, _ values: [Double]) -> Bool {
        guard !values.isEmpty else { return true }
        return values.withUnsafeBytes { write(row: row, count: values.count / max(width, 1), $0.baseAddress!) }
    }

    /// Writes one value per row for `values.count` rows starting at `row`.
    func write(row: Int, _ values: [Int64]) -> Bool {
        guard !values.isEmpty else { return true }
        return values.withUnsafeBytes { write(row: row, count: values.count, $0.baseAddress!) }
    }

    /// Writes one value per row for `values.count` rows starting at `row`.
    func write(row: Int, _ values: [Int32]) -> Bool {
        guard !values.isEmpty else { return true }
        return values.withUnsafeBytes { write(row: row, count: values.count, $0.baseAddress!) }
    }

    /// Writes one string (or none: nil) per row, each in its stored form (`StoredText`).
    func write(row: Int, _ values: [String?]) -> Bool {
        guard !values.isEmpty else { return true }
        let copies: [UnsafeMutablePointer<CChar>?] = values.map { $0.map { StoredText.cString($0) } }
        defer { for copy in copies { free(copy) } }
        return copies.withUnsafeBytes { write(row: row, count: values.count, $0.baseAddress!) }
    }

    func close() {
        guard !closed else { return }
        closed = true
        if fileSpace >= 0 { H5Sclose(fileSpace) }
        if rowSpace >= 0 { H5Sclose(rowSpace) }
        if type == .string { H5Tclose(memType) }
        H5Dclose(id)
    }

    deinit { close() }
}

/// Reads the first `rows` rows of a dataset as Float64 (with `width` values per row).
func readDoubles(_ dataset: hid_t, rows: Int, width: Int) -> [Double]? {
    guard rows == 0 || holds(dataset, rows: rows, width: width) else { return nil }
    var values = [Double](repeating: .nan, count: rows * max(width, 1))
    guard rows > 0 else { return values }
    let ok = values.withUnsafeMutableBytes { readRows(dataset, rows: rows, width: width, rlhf_H5T_NATIVE_DOUBLE(), $0.baseAddress!) }
    return ok ? values : nil
}

/// Reads the first `rows` rows of a dataset as Int64.
func readInt64s(_ dataset: hid_t, rows: Int) -> [Int64]? {
    guard rows == 0 || holds(dataset, rows: rows, width: 0) else { return nil }
    var values = [Int64](repeating: -1, count: rows)
    guard rows > 0 else { return values }
    let ok = values.withUnsafeMutableBytes { readRows(dataset, rows: rows, width: 0, rlhf_H5T_NATIVE_INT64(), $0.baseAddress!) }
    return ok ? values : nil
}

/// Reads rows [start, start + rows) of a dataset as Int32.
func readInt32s(_ dataset: hid_t, start: Int = 0, rows: Int) -> [Int32]? {
    guard rows == 0 || holds(dataset, start: start, rows: rows, width: 0) else { return nil }
    var values = [Int32](repeating: -1, count: rows)
    guard rows > 0 else { return values }
    let ok = values.withUnsafeMutableBytes {
        readRows(dataset, start: start, rows: rows, width: 0, rlhf_H5T_NATIVE_INT32(), $0.baseAddress!)
    }
    return ok ? values : nil
}

/// Reads rows [start, start + rows) of a dataset as Float64.
func readDoubles(_ dataset: hid_t, start: Int, rows: Int) -> [Double]? {
    guard rows == 0 || holds(dataset, start: start, rows: rows, width: 0) else { return nil }
    var values = [Double](repeating: .nan, count: rows)
    guard rows > 0 else { return values }
    let ok = values.withUnsafeMutableBytes {
        readRows(dataset, start: start, rows: rows, width: 0, rlhf_H5T_NATIVE_DOUBLE(), $0.baseAddress!)
    }
    return ok ? values : nil
}

/// Reads the first `rows` strings of a variable-length string dataset (nil where none was written).
func readStrings(_ dataset: hid_t, rows: Int) -> [String?]? {
    guard rows > 0 else { return [] }
    guard holds(dataset, rows: rows, width: 0) else { return nil }
    var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: rows)
    let type = HDF5.stringType()
    defer { H5Tclose(type) }
    let ok = pointers.withUnsafeMutableBytes { readRows(dataset, rows: rows, width: 0, type, $0.baseAddress!) }
    guard ok else { return nil }
    defer { for p in pointers where p != nil { H5free_memory(p) } }
    return pointers.map { $0.map { StoredText.string(cString: $0) } }
}

/// Reads rows [start, start + rows) into `buffer`, after checking the dataset holds them.
/// Whether a dataset holds rows [start, start + rows) of `width` columns (0: a 1-D dataset). Every
/// reader asks before it sizes a buffer, so a count read from the file (a `committed` attribute)
/// never sizes an allocation beyond the data the file really has.
func holds(_ dataset: hid_t, start: Int = 0, rows: Int, width: Int) -> Bool {
    guard start >= 0, rows >= 0, width >= 0 else { return false }
    let shape = HDF5.shape(of: dataset)
    let (end, overflow) = start.addingReportingOverflow(rows)
    return !overflow && shape.count == (width > 0 ? 2 : 1) && shape[0] >= end && (width == 0 || shape[1] == width)
}

private func readRows(
    _ dataset: hid_t, start: Int = 0, rows: Int, width: Int, _ memType: hid_t, _ buffer: UnsafeMutableRawPointer
) -> Bool {
    guard holds(dataset, start: start, rows: rows, width: width) else { return false }
    let fileSpace = H5Dget_space(dataset)
    defer { H5Sclose(fileSpace) }
    var offset: [hsize_t] = width > 0 ? [hsize_t(start), 0] : [hsize_t(start)]
    var count: [hsize_t] = width > 0 ? [hsize_t(rows), hsize_t(width)] : [hsize_t(rows)]
    guard H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &offset, nil, &count, nil) >= 0 else { return false }
    let memSpace = H5Screate_simple(Int32(count.count), &count, nil)
    defer { H5Sclose(memSpace) }
    return H5Dread(dataset, memType, memSpace, fileSpace, rlhf_H5P_DEFAULT(), buffer) >= 0
}

func roundUp(_ n: Int, _ multiple: Int) -> Int { (n + multiple - 1) / multiple * multiple }
