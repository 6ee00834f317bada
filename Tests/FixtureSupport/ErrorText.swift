/// The description of the error `body` throws, or `""` when it throws none: for tests that check
/// what an error message says.
public func errorText(_ body: () throws -> Void) -> String {
    do {
        try body()
        return ""
    } catch {
        return "\(error)"
    }
}
