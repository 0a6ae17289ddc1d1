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

    /// oneDNN's version and what it multiplies (see `GEMMEngine`).
    public static var oneDNN: String {
        var use = GEMMEngine.forced.map { "every sgemm through \($0 == .oneDNN ? "oneDNN" : "OpenBLAS"): RECUR_GEMM=\($0.rawValue)" }
            ?? "sgemm of at least 2^20 multiply-adds"
        if GEMMEngine.forced == nil, let value = ProcessInfo.processInfo.environment["RECUR_GEMM"] {
            use += "; RECUR_GEMM=\(value) ignored: it takes openblas or onednn"
        }
        return "\(GEMMEngine.oneDNNVersion) (\(use))"
    }
}
