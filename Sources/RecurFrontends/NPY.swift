import Foundation
import RecurCore

/// NumPy `.npy` files (format version 1.0): float32, little-endian, C order,
/// any rank. What `numpy.load` reads back as `dtype('<f4')` with the same shape.
///
/// Files are written to a temporary name beside the target and renamed, so a
/// crash never leaves a half-written `.npy`.
public enum NPY {
    /// Writes `tensor` (its shape and its row-major numbers) to `path`.
    public static func write(_ tensor: Tensor, to path: String) throws {
        try write(UnsafePointer(tensor.data), shape: tensor.shape, to: path)
    }

    /// Writes `Tensor.elementCount(shape)` floats from `values` under `shape` to `path`,
    /// streaming them to a temporary file (no copy of the data in memory) that is
    /// then renamed over `path`.
    public static func write(_ values: UnsafePointer<Float>, shape: [Int], to path: String) throws {
        let count = Tensor.elementCount(shape)
        let head = header(shape: shape)
        let url = URL(fileURLWithPath: path)
        let tmp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        guard let f = fopen(tmp, "wb") else {
            throw RecurError(.io, "cannot write: \(String(cString: strerror(errno)))", file: path)
        }
        var ok = head.withUnsafeBytes { fwrite($0.baseAddress, 1, head.count, f) == head.count }
        let chunk = 1 << 16
        let le = UnsafeMutablePointer<UInt32>.allocate(capacity: chunk)
        defer { le.deallocate() }
        var i = 0
        while ok && i < count {
            let k = min(chunk, count - i)
            for j in 0..<k { le[j] = values[i + j].bitPattern.littleEndian }
            ok = fwrite(le, 4, k, f) == k
            i += k
        }
        let reason = ok ? "" : String(cString: strerror(errno))
        if fclose(f) != 0 && ok { ok = false }
        guard ok else {
            unlink(tmp)
            throw RecurError(.io, "cannot write: \(reason.isEmpty ? "write failed" : reason)", file: path)
        }
        if rename(tmp, path) != 0 {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw RecurError(.io, "cannot rename temporary file into place: \(why)", file: path)
        }
    }

    /// The 1.0 header for a float32 C-order array of `shape`, padded with
    /// spaces to a multiple of 64 bytes and ended by a newline.
    public static func header(shape: [Int]) -> [UInt8] {
        let dims: String
        switch shape.count {
        case 0: dims = "()"
        case 1: dims = "(\(shape[0]),)"
        default: dims = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': \(dims), }"
        let prefix = 10  // magic (6) + version (2) + header length (2)
        let total = ((prefix + dict.utf8.count + 1 + 63) / 64) * 64
        dict += String(repeating: " ", count: total - prefix - dict.utf8.count - 1) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let n = UInt16(dict.utf8.count)
        out += [UInt8(n & 0xff), UInt8(n >> 8)]
        out += Array(dict.utf8)
        return out
    }

    /// Reads a float32 little-endian C-order `.npy` (version 1.x or 2.x), for
    /// tests and tools that read back what `write` wrote.
    public static func read(_ path: String) throws -> Tensor {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RecurError(.io, "cannot read file", file: path)
        }
        let b = [UInt8](data)
        guard b.count >= 10, b[0] == 0x93, Array(b[1..<6]) == Array("NUMPY".utf8) else {
            throw RecurError(.format, "not a .npy file (no \\x93NUMPY magic)", file: path)
        }
        let major = b[6]
        let (hlen, start): (Int, Int)
        if major == 1 {
            hlen = Int(b[8]) | Int(b[9]) << 8; start = 10
        } else {
            guard b.count >= 12 else { throw RecurError(.format, "truncated .npy header", file: path) }
            hlen = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24; start = 12
        }
        guard start + hlen <= b.count else { throw RecurError(.format, "truncated .npy header", file: path) }
        let h = String(decoding: b[start..<(start + hlen)], as: UTF8.self)
        guard h.contains("'<f4'") else {
            throw RecurError(.unsupported, "only little-endian float32 ('<f4') .npy is supported", file: path)
        }
        guard h.contains("'fortran_order': False") else {
            throw RecurError(.unsupported, "Fortran-order .npy is not supported", file: path)
        }
        guard let open = h.range(of: "'shape': ("), let close = h.range(of: ")", range: open.upperBound..<h.endIndex) else {
            throw RecurError(.format, "no shape in .npy header", file: path)
        }
        let shape = try h[open.upperBound..<close.lowerBound].split(separator: ",").compactMap { part -> Int? in
            let s = part.trimmingCharacters(in: .whitespaces)
            if s.isEmpty { return nil }
            guard let v = Int(s), v >= 0 else { throw RecurError(.format, "bad dimension '\(s)' in .npy shape", file: path) }
            return v
        }
        let count = Tensor.elementCount(shape)
        let off = start + hlen
        guard b.count - off >= count * 4 else {
            throw RecurError(.format, "truncated .npy data: \(b.count - off) bytes for \(count) floats", file: path)
        }
        let t = Tensor(zeros: shape)
        b.withUnsafeBytes { raw in
            for i in 0..<count {
                var bits: UInt32 = 0
                memcpy(&bits, raw.baseAddress! + off + 4 * i, 4)
                t.data[i] = Float(bitPattern: UInt32(littleEndian: bits))
            }
        }
        return t
    }
}

extension NPY {
    /// Writes `data` to a temporary file beside `path` and renames it over `path`
    /// (small files the frontends write, such as CMVN statistics, go through this).
    public static func writeAtomically(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        do {
            try data.write(to: tmp)
        } catch {
            throw RecurError(.io, "cannot write: \(error.localizedDescription)", file: path)
        }
        if rename(tmp.path, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmp.path)
            throw RecurError(.io, "cannot rename temporary file into place: \(reason)", file: path)
        }
    }
}
