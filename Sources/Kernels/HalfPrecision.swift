// HalfPrecision: exact fp16 / bf16 <-> Float32 conversions for weight loading.

/// Bit-exact conversions between Float32 and the 16-bit weight formats.
public enum HalfPrecision {
    /// IEEE binary16 bits to Float (exact, incl. subnormals, inf, NaN).
    @inline(__always)
    public static func float16ToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int((h >> 10) & 0x1f)
        let mant = UInt32(h & 0x3ff)
        if exp == 0 {
            // zero or subnormal: mant * 2^-24
            let v = Float(mant) * Float(bitPattern: 0x3380_0000) // 2^-24
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | (UInt32(exp + 112) << 23) | (mant << 13))
    }

    /// bf16 bits to Float (exact).
    @inline(__always)
    public static func bfloat16ToFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// Float to bf16 bits, round to nearest even (NaN stays NaN).
    @inline(__always)
    public static func floatToBFloat16(_ f: Float) -> UInt16 {
        let u = f.bitPattern
        if f.isNaN { return UInt16(truncatingIfNeeded: u >> 16) | 0x40 }
        let rounded = u &+ 0x7fff &+ ((u >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// `f` rounded to the nearest bf16 value (ties to even), as an fp32: what the bf16
    /// kernels read where `f` was given.
    public static func roundedToBFloat16(_ f: Float) -> Float { bfloat16ToFloat(floatToBFloat16(f)) }
}
