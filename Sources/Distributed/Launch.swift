import Foundation

extension World {
    /// The command that starts `ranks` copies of a program on this machine under Open MPI:
    /// `mpirun -np N` with more ranks than cores allowed, no pinning of ranks to cores (the machine
    /// may be shared, and each rank runs its own worker threads), and root allowed when it is root.
    public static func mpirun(ranks: Int, program: [String]) -> [String] {
        var command = ["mpirun", "-np", "\(ranks)", "--oversubscribe", "--bind-to", "none"]
        if getuid() == 0 { command.append("--allow-run-as-root") }
        return command + program
    }
}
