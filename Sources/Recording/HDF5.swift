// The thin layer between the run file and the HDF5 C library: one process-wide lock, errors turned
// into messages, and helpers for groups, attributes and extendable datasets.
//
// Every call into HDF5 happens inside `HDF5.locked`. The lock is recursive and is taken around
// fork() (pthread_atfork), so a child process forked while another thread records can still use
// HDF5. Automatic printing of HDF5's error stack is turned off on every thread that enters; a
// failing call is reported by reading the stack instead.

import CHDF5

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

enum HDF5 {
    nonisolated(unsafe) static let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        initialize(mutex)
        // The child of fork() has a new thread id, so it cannot unlock what the parent's thread
        // locked: it starts from a fresh lock instead (no other thread exists there to hold it).
        pthread_atfork(
            { pthread_mutex_lock(HDF5.mutex) },
            { pthread_mutex_unlock(HDF5.mutex) },
            { HDF5.initialize(HDF5.mutex) })
        return mutex
    }()

    private static func initialize(_ mutex: UnsafeMutablePointer<pthread_mutex_t>) {
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    /// Runs `body` holding the HDF5 lock, with HDF5's error printing off on this thread.
    static func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        // In the thread-safe build the error-printing switch is per thread.
        H5Eset_auto2(rlhf_H5E_DEFAULT(), nil, nil)
        return try body()
    }

    /// The messages on HDF5's error stack for this thread, outermost first; clears the stack.
    static func errorStack() -> [String] {
        final class Box { var messages: [String] = [] }
        let box = Box()
        let unmanaged = Unmanaged.passUnretained(box)
        H5Ewalk2(
            rlhf_H5E_DEFAULT(), H5E_WALK_DOWNWARD,
            { _, error, data in
                guard let error, let data else { return 0 }
                let box = Unmanaged<Box>.fromOpaque(data).takeUnretainedValue()
                if let desc = error.pointee.desc {
                    box.messages.append(String(cString: desc))
                }
                return 0
            }, unmanaged.toOpaque())
        H5Eclear2(rlhf_H5E_DEFAULT())
        return box.messages
    }

    /// One line describing the last failure: the outermost and innermost HDF5 messages.
    static func lastError() -> String {
        let messages = errorStack().filter { !$0.isEmpty }
        guard let first = messages.first else { return "HDF5 gave no reason" }
        if let last = messages.last, last != first { return "\(first): \(last)" }
        return first
    }

    // MARK: - Types

    /// A variable-length UTF-8 string type; the caller closes it. Every string goes through
    /// `StoredText`, so a NUL or a byte that is not UTF-8 survives the C string.
    static func stringType() -> hid_t {
        let type = H5Tcopy(rlhf_H5T_C_S1())
        H5Tset_size(type, rlhf_H5T_VARIABLE())
        H5Tset_cset(type, H5T_CSET_UTF8)
        return type
    }

    /// The enum type h5py reads as `numpy.bool_` (FALSE = 0, TRUE = 1); the caller closes it.
    static func boolType() -> hid_t {
        let type = H5Tenum_create(rlhf_H5T_STD_I8LE())
        var no: Int8 = 0
        var yes: Int8 = 1
        H5Tenum_insert(type, "FALSE", &no)
        H5Tenum_insert(type, "TRUE", &yes)
        return type
    }

    // MARK: - Property lists

    /// Group creation properties: no modification times, so equal runs give equal files.
    static func groupCreation() -> hid_t {
        let plist = H5Pcreate(rlhf_H5P_GROUP_CREATE())
        H5Pset_obj_track_times(plist, false)
        return plist
    }

    /// File access properties: earliest file format (never SWMR) and no file locks, so a file
    /// can be inspected while a run writes it and a killed run's file opens in plain h5py.
    static func fileAccess() -> hid_t {
        let plist = H5Pcreate(rlhf_H5P_FILE_ACCESS())
        H5Pset_file_locking(plist, false, true)
        return plist
    }

    // MARK: - Objects

    /// The names of a group's members in name order.
    static func memberNames(_ group: hid_t) -> [String] {
        var info = H5G_info_t()
        guard H5Gget_info(group, &info) >= 0 else { return [] }
        var names: [String] = []
        for index in 0..<info.nlinks {
            let length = H5Lget_name_by_idx(
                group, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, rlhf_H5P_DEFAULT())
            guard length >= 0 else { continue }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            H5Lget_name_by_idx(
                group, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, rlhf_H5P_DEFAULT())
            names.append(String(cString: buffer))
        }
        return names
    }

    enum ObjectKind { case group, dataset, other }

    /// Whether `name` in `group` is a group, a dataset or something else (or missing).
    static func kind(of name: String, in group: hid_t) -> ObjectKind? {
        guard H5Lexists(group, name, rlhf_H5P_DEFAULT()) > 0 else { return nil }
        let object = H5Oopen(group, name, rlhf_H5P_DEFAULT())
        guard object >= 0 else {
            _ = errorStack()
            return nil
        }
        defer { H5Oclose(object) }
        switch H5Iget_type(object) {
        case H5I_GROUP: return .group
        case H5I_DATASET: return .dataset
        default: return .other
        }
    }

    /// The shape of a dataset.
    static func shape(of dataset: hid_t) -> [Int] {
        let space = H5Dget_space(dataset)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank > 0 else { return [] }
        var dims = [hsize_t](repeating: 0, count: rank)
        H5Sget_simple_extent_dims(space, &dims, nil)
        return dims.map { Int($0) }
    }

    /// A short name for a dataset's element type: float64, int32, string, ...
    static func typeName(of dataset: hid_t) -> String {
        let type = H5Dget_type(dataset)
        defer { H5Tclose(type) }
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT: return "float\(size * 8)"
        case H5T_INTEGER: return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + "\(size * 8)"
        case H5T_STRING: return "string"
        case H5T_ENUM: return "enum"
        default: return "other"
        }
    }

    // MARK: - Attributes

    /// The names of an object's attributes in name order.
    static func attributeNames(_ object: hid_t) -> [String] {
        final class Box { var names: [String] = [] }
        let box = Box()
        var index: hsize_t = 0
        H5Aiterate2(
            object, H5_INDEX_NAME, H5_ITER_INC, &index,
            { _, name, _, data in
                guard let name, let data else { return 0 }
                Unmanaged<Box>.fromOpaque(data).takeUnretainedValue().names.append(String(cString: name))
                return 0
            }, Unmanaged.passUnretained(box).toOpaque())
        return box.names
    }

    /// Writes (or replaces) an attribute. Returns false on failure, leaving the message on the stack.
    @discardableResult
    static func writeAttribute(_ object: hid_t, _ name: String, _ value: ConfigValue) -> Bool {
        if H5Aexists(object, name) > 0 { H5Adelete(object, name) }
        let space: hid_t
        var count: hsize_t = 0
        switch value {
        case .int, .double, .bool, .string, .uint:
            space = H5Screate(H5S_SCALAR)
        case .ints(let values):
            count = hsize_t(values.count)
            space = H5Screate_simple(1, &count, nil)
        case .doubles(let values):
            count = hsize_t(values.count)
            space = H5Screate_simple(1, &count, nil)
        case .strings(let values):
            count = hsize_t(values.count)
            space = H5Screate_simple(1, &count, nil)
        }
        defer { H5Sclose(space) }

        func create(_ fileType: hid_t, _ memType: hid_t, _ data: UnsafeRawPointer?) -> Bool {
            let attribute = H5Acreate2(object, name, fileType, space, rlhf_H5P_DEFAULT(), rlhf_H5P_DEFAULT())
            guard attribute >= 0 else { return false }
            defer { H5Aclose(attribute) }
            return H5Awrite(attribute, memType, data) >= 0
        }

        switch value {
        case .int(let v):
            var x = Int64(v)
            return create(rlhf_H5T_STD_I64LE(), rlhf_H5T_NATIVE_INT64(), &x)
        case .uint(let v):
            var x = v
            return create(rlhf_H5T_STD_U64LE(), rlhf_H5T_NATIVE_UINT64(), &x)
        case .double(let v):
            var x = v
            return create(rlhf_H5T_IEEE_F64LE(), rlhf_H5T_NATIVE_DOUBLE(), &x)
        case .bool(let v):
            var x: Int8 = v ? 1 : 0
            let type = boolType()
            defer { H5Tclose(type) }
            return create(type, type, &x)
        case .string(let v):
            let type = stringType()
            defer { H5Tclose(type) }
            let copy = StoredText.cString(v)
            defer { free(copy) }
            var p: UnsafePointer<CChar>? = UnsafePointer(copy)
            return create(type, type, &p)
        case .ints(let values):
            let xs = values.map { Int64($0) }
            return xs.withUnsafeBytes { create(rlhf_H5T_STD_I64LE(), rlhf_H5T_NATIVE_INT64(), $0.baseAddress) }
        case .doubles(let values):
            return values.withUnsafeBytes { create(rlhf_H5T_IEEE_F64LE(), rlhf_H5T_NATIVE_DOUBLE(), $0.baseAddress) }
        case .strings(let values):
            let type = stringType()
            defer { H5Tclose(type) }
            return withCStrings(values) { pointers in create(type, type, pointers.baseAddress) }
        }
    }

    /// Reads an attribute of any type the run file writes (and fixed-length strings, as other
    /// tools write them). Nil when it is missing or of a type the run file does not use.
    static func readAttribute(_ object: hid_t, _ name: String) -> ConfigValue? {
        guard H5Aexists(object, name) > 0 else { return nil }
        let attribute = H5Aopen(object, name, rlhf_H5P_DEFAULT())
        guard attribute >= 0 else {
            _ = errorStack()
            return nil
        }
        defer { H5Aclose(attribute) }
        let space = H5Aget_space(attribute)
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        let count = Int(H5Sget_simple_extent_npoints(space))
        let scalar = rank == 0
        let fileType = H5Aget_type(attribute)
        defer { H5Tclose(fileType) }

        switch H5Tget_class(fileType) {
        case H5T_INTEGER:
            if H5Tget_sign(fileType) == H5T_SGN_NONE && H5Tget_size(fileType) == 8 && scalar {
                var x: UInt64 = 0
                guard H5Aread(attribute, rlhf_H5T_NATIVE_UINT64(), &x) >= 0 else { return nil }
                return .uint(x)
            }
            var xs = [Int64](repeating: 0, count: count)
            guard H5Aread(attribute, rlhf_H5T_NATIVE_INT64(), &xs) >= 0 else { return nil }
            return scalar ? .int(Int(xs[0])) : .ints(xs.map { Int($0) })
        case H5T_FLOAT:
            var xs = [Double](repeating: 0, count: count)
            guard H5Aread(attribute, rlhf_H5T_NATIVE_DOUBLE(), &xs) >= 0 else { return nil }
            return scalar ? .double(xs[0]) : .doubles(xs)
        case H5T_ENUM:
            guard scalar, H5Tget_size(fileType) == 1 else { return nil }
            var x: Int8 = 0
            let native = H5Tget_native_type(fileType, H5T_DIR_ASCEND)
            defer { H5Tclose(native) }
            guard H5Aread(attribute, native, &x) >= 0 else { return nil }
            return .bool(x != 0)
        case H5T_STRING:
            var strings: [String]
            if H5Tis_variable_str(fileType) > 0 {
                let type = stringType()
                defer { H5Tclose(type) }
                var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
                guard H5Aread(attribute, type, &pointers) >= 0 else { return nil }
                strings = pointers.map { $0.map { StoredText.string(cString: $0) } ?? "" }
                for p in pointers where p != nil { H5free_memory(p) }
            } else {
                let size = H5Tget_size(fileType)
                var bytes = [UInt8](repeating: 0, count: size * count)
                guard H5Aread(attribute, fileType, &bytes) >= 0 else { return nil }
                strings = (0..<count).map { i in
                    let slice = bytes[(i * size)..<((i + 1) * size)]
                    let end = slice.firstIndex(of: 0) ?? slice.endIndex
                    return StoredText.string(slice[slice.startIndex..<end])
                }
            }
            return scalar ? .string(strings.first ?? "") : .strings(strings)
        default:
            return nil
        }
    }

    /// All attributes of an object, in name order.
    static func readAttributes(_ object: hid_t) -> [(String, ConfigValue)] {
        attributeNames(object).compactMap { name in readAttribute(object, name).map { (name, $0) } }
    }
}

/// Calls `body` with NUL-terminated stored copies of `strings` (`StoredText`), valid for the call only.
func withCStrings<R>(_ strings: [String], _ body: (UnsafeBufferPointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { StoredText.cString($0) }
    defer { for copy in copies { free(copy) } }
    let pointers = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer(body)
}
