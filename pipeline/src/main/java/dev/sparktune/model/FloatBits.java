package dev.sparktune.model;

/** Bit-exact widening of the 16-bit float formats checkpoints store (Java 17 has no half type). */
final class FloatBits {
  private FloatBits() {}

  /** The bfloat16 value with bits {@code b}: the top 16 bits of a float. */
  static float bf16ToFloat(short b) {
    return Float.intBitsToFloat((b & 0xFFFF) << 16);
  }

  /** The IEEE 754 half-precision value with bits {@code h}, as a float (exact). */
  static float halfToFloat(short h) {
    int bits = h & 0xFFFF;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1F;
    int mant = bits & 0x3FF;
    if (exp == 0x1F) {
      return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13)); // inf or NaN
    }
    if (exp == 0) {
      float v = mant * 0x1p-24f; // subnormal (or zero): exact in float
      return sign == 0 ? v : -v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }
}
