import Foundation

/// Compares two run files as h5py reads them: every dataset of every group, each read up to the
/// `committed` count of its nearest group that has one, all but the wall-clock values (`/<stage>/timing`). Returns the names of
/// datasets that differ or exist in only one file; empty when the runs match.
public func differingRunFileDatasets(_ a: URL, _ b: URL) throws -> [String] {
    let script = """
        import h5py, sys, numpy as np
        def load(path):
            out = {}
            with h5py.File(path, "r") as f:
                def visit(name, obj):
                    if isinstance(obj, h5py.Dataset) and name.split("/")[1:2] != ["timing"]:
                        group, n = obj.parent, None
                        while n is None and group.name != "/":
                            n, group = group.attrs.get("committed"), group.parent
                        out[name] = obj[()] if obj.shape == () or n is None else obj[: int(n)]
                f.visititems(visit)
            return out
        a, b = load(sys.argv[1]), load(sys.argv[2])
        for name in sorted(set(a) | set(b)):
            if name not in a or name not in b:
                print(name); continue
            x, y = a[name], b[name]
            same = x.shape == y.shape and (np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f" else np.array_equal(x, y))
            if not same: print(name)
        """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, a.path, b.path]
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw FixtureError.comparisonFailed(
            "comparing \(a.path) and \(b.path) with h5py failed (run scripts/setup to install h5py): "
                + String(decoding: errors, as: UTF8.self))
    }
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
}
