package dev.sparktune.clean;

/**
 * A thread's buffers for the refusal check's folded text and its map back to the original positions,
 * kept for the thread's next text while texts stay under 64K characters (a longer text gets buffers
 * of its own, which are not kept).
 */
final class FoldBuffers {
  private static final ThreadLocal<FoldBuffers> KEPT = ThreadLocal.withInitial(() -> new FoldBuffers(1024));
  /** The folded text. */
  final char[] folded;
  /** Where each folded character starts in the original text. */
  final int[] start;
  /** Where each folded character ends in the original text (a whitespace run folds to one space). */
  final int[] end;

  private FoldBuffers(int n) {
    folded = new char[n];
    start = new int[n + 1];
    end = new int[n + 1];
  }

  /** Buffers for a text of {@code n} characters: this thread's kept ones when they are large enough. */
  static FoldBuffers of(int n) {
    FoldBuffers kept = KEPT.get();
    if (n <= kept.folded.length) {
      return kept;
    }
    FoldBuffers b = new FoldBuffers(n);
    if (n <= 1 << 16) {
      KEPT.set(b);
    }
    return b;
  }
}
