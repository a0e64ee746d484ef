package dev.sparktune.collective;

/**
 * Collective operations among the ranks of one training job, on host buffers. Every rank calls
 * every operation unconditionally, the same number of times, in the same order (never inside a
 * catch). The TCP ring is the CPU backend; a GPU backend (NCCL) can implement the same interface.
 */
public interface Collective extends AutoCloseable {
  int rank();

  int size();

  /** Element-wise sum over ranks, in place on every rank. */
  default void allReduceSum(double[] buffer) {
    reduceScatterSum(buffer);
    allGather(buffer);
  }

  /** After it, this rank's shard ({@link #shardStart}..{@link #shardEnd}) holds the sum over ranks. */
  void reduceScatterSum(double[] buffer);

  /** Each rank contributes its own shard; after it every rank holds all shards. */
  void allGather(double[] buffer);

  /** First index of {@code rank}'s shard of a buffer of {@code length} elements. */
  default int shardStart(int rank, int length) {
    return (int) ((long) length * rank / size());
  }

  /** One past the last index of {@code rank}'s shard. */
  default int shardEnd(int rank, int length) {
    return shardStart(rank + 1, length);
  }

  @Override
  void close();

  /** The one-rank collective: every operation is the identity. */
  static Collective single() {
    return new Collective() {
      @Override
      public int rank() {
        return 0;
      }

      @Override
      public int size() {
        return 1;
      }

      @Override
      public void reduceScatterSum(double[] buffer) {}

      @Override
      public void allGather(double[] buffer) {}

      @Override
      public void close() {}
    };
  }
}
