// A table: one group whose datasets share a row axis. `step` holds each row's step number and the
// group's `committed` attribute counts the rows a reader may trust; other columns appear the first
// time a name is recorded, numbered by an `index` attribute in creation order.

import CHDF5

final class Table {
    let group: hid_t
    /// The group's path in the file, for messages.
    let path: String
    let step: Column
    let chunkRows: Int
    /// Rows a reader may trust; the `committed` attribute holds the last value flushed.
    var committed = 0
    private let committedAttribute: hid_t
    private(set) var columns: [String: Column] = [:]
    private var subgroups: [String: hid_t] = [:]
    private var nextIndex = 0
    private var closed = false

    private init(group: hid_t, path: String, step: Column, chunkRows: Int, committedAttribute: hid_t) {
        self.group = group
        self.path = path
        self.step = step
        self.chunkRows = chunkRows
        self.committedAttribute = committedAttribute
    }

    /// Creates the group `name` in `parent` with its `step` column and a `committed` count of 0.
    static func create(in parent: hid_t, name: String, path: String, chunkRows: Int) -> Table? {
        let plist = HDF5.groupCreation()
        defer { H5Pclose(plist) }
        let group = H5Gcreate2(parent, name, rlhf_H5P_DEFAULT(), plist, rlhf_H5P_DEFAULT())
        guard group >= 0 else { return nil }
        guard HDF5.writeAttribute(group, "committed", .int(0)),
            let step = Column.create(in: group, name: "step", type: .int64, chunkRows: chunkRows, rows: 0)
        else {
            H5Gclose(group)
            return nil
        }
        let attribute = H5Aopen(group, "committed", rlhf_H5P_DEFAULT())
        guard attribute >= 0 else {
            H5Gclose(group)
            return nil
        }
        return Table(group: group, path: path, step: step, chunkRows: chunkRows, committedAttribute: attribute)
    }

    /// The column `name` (inside `subgroup` when given), created on first use with fill values up
    /// to the current row. A new subgroup, or a new top-level column, takes the next `index`.
    func column(
        _ name: String, in subgroup: String? = nil, type: ColumnType = .float64, width: Int = 0,
        attributes: [(String, ConfigValue)] = []
    ) -> Column? {
        let key = subgroup.map { "\($0)/\(name)" } ?? name
        if let column = columns[key] { return column }
        var parent = group
        var extra = attributes
        if let subgroup {
            if let existing = subgroups[subgroup] {
                parent = existing
            } else {
                let plist = HDF5.groupCreation()
                defer { H5Pclose(plist) }
                let created = H5Gcreate2(group, subgroup, rlhf_H5P_DEFAULT(), plist, rlhf_H5P_DEFAULT())
                guard created >= 0, HDF5.writeAttribute(created, "index", .int(nextIndex)) else { return nil }
                nextIndex += 1
                subgroups[subgroup] = created
                parent = created
            }
        } else {
            extra.append(("index", .int(nextIndex)))
        }
        guard
            let column = Column.create(
                in: parent, name: name, type: type, width: width, chunkRows: chunkRows, rows: committed + 1,
                attributes: extra)
        else { return nil }
        if subgroup == nil { nextIndex += 1 }
        columns[key] = column
        return column
    }

    /// Writes the `committed` attribute (call after the rows it counts were flushed).
    func writeCommitted() -> Bool {
        var value = Int64(committed)
        return H5Awrite(committedAttribute, rlhf_H5T_NATIVE_INT64(), &value) >= 0
    }

    /// Trims every column to the committed rows.
    func trim() -> Bool {
        var ok = step.trim(to: committed)
        for key in columns.keys.sorted() { ok = columns[key]!.trim(to: committed) && ok }
        return ok
    }

    func close() {
        guard !closed else { return }
        closed = true
        step.close()
        for column in columns.values { column.close() }
        for subgroup in subgroups.values { H5Gclose(subgroup) }
        H5Aclose(committedAttribute)
        H5Gclose(group)
    }

    deinit { close() }
}
