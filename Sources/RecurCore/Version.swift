import CBLAS
import Foundation

/// Recur's version and those of the libraries linked into RecurCore.
public enum RecurVersion {
    public static let version = "0.1.0"

    /// OpenBLAS's build configuration, core name and thread count.
    public static var openBLAS: String {
        let config = String(cString: openblas_get_config())
        let core = String(cString: openblas_get_corename())
        return "\(config) (core \(core), \(Threads.blasThreads) threads)"
    }
}
