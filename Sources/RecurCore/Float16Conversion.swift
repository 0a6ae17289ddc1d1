/// IEEE 754 half precision (binary16) to and from `Float`, on bit patterns.
///
/// Written out bit by bit rather than through Swift's `Float16`, which is
/// missing on Intel macOS; the tests check these against `Float16` on every
/// half bit pattern. Float to half rounds to nearest, ties to even; values from
/// 65520 up become infinity; subnormal halves are produced and read exactly;
/// NaN stays NaN (quiet, sign and the top payload bits kept).
public enum Float16Conversion {
    /// The `Float` a half bit pattern stands for (always exact).
    @inlinable
    public static func float(fromHalf h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F {  // infinity or NaN: keep the payload
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {  // zero or subnormal: mantissa * 2^-24, exact in Float
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// The half bit pattern nearest to `x` (ties to even).
    @inlinable
    public static func half(from x: Float) -> UInt16 {
        let bits = x.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude >= 0x7F80_0000 {  // infinity or NaN
            if magnitude == 0x7F80_0000 { return sign | 0x7C00 }
            return sign | 0x7E00 | UInt16(truncatingIfNeeded: (magnitude >> 13) & 0x3FF)
        }
        if magnitude >= 0x477F_F000 {  // >= 65520: rounds to infinity
            return sign | 0x7C00
        }
        if magnitude >= 0x3880_0000 {  // >= 2^-14: a normal half
            // Rebias the exponent (127 -> 15) and round the 13 dropped bits to
            // nearest even; a carry into the exponent is the right answer.
            let rebased = magnitude - 0x3800_0000
            let rounded = (rebased + 0xFFF + ((rebased >> 13) & 1)) >> 13
            return sign | UInt16(truncatingIfNeeded: rounded)
        }
        // Subnormal or zero half: adding 0.5 lines the value up so the hardware
        // adder rounds at 2^-24 (to nearest even); the low bits are the half.
        let aligned = Float(bitPattern: magnitude) + 0.5
        return sign | UInt16(truncatingIfNeeded: aligned.bitPattern - 0x3F00_0000)
    }

    /// Converts `count` little-endian halves at `source` (any alignment) to floats.
    public static func floats(fromHalves source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        for i in 0 ..< count {
            let h = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            destination[i] = float(fromHalf: h)
        }
    }

    /// Converts `count` floats to half bit patterns (host byte order).
    public static func halves(fromFloats source: UnsafePointer<Float>, count: Int, into destination: UnsafeMutablePointer<UInt16>) {
        for i in 0 ..< count { destination[i] = half(from: source[i]) }
    }
}
