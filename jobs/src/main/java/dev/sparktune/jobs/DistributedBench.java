package dev.sparktune.jobs;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.sparktune.collective.LoopbackRanks;
import dev.sparktune.config.LoraConfig;
import dev.sparktune.config.TrainConfig;
import dev.sparktune.model.CausalLm;
import dev.sparktune.model.ModelConfig;
import dev.sparktune.model.ModelInit;
import dev.sparktune.model.Torch;
import dev.sparktune.train.StepBench;
import dev.sparktune.train.TrainData;
import dev.sparktune.train.MetricsLog;
import dev.sparktune.train.StepMetrics;
import dev.sparktune.train.TrainOptions;
import dev.sparktune.train.Trainer;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The collective and data-parallel training on this machine: all-reduce bus bandwidth against a
 * raw loopback socket copy, and training tokens/s of N ranks × 1 thread against 1 rank × 1 thread
 * with the same global batch (ranks as threads of one JVM joined by the TCP ring, as tasks of one
 * executor would be).
 */
@Command(name = "distributed", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Benchmarks the ring all-reduce (bus bandwidth vs a raw loopback socket copy) and "
        + "data-parallel training speed-up (N ranks × 1 thread vs 1 rank × 1 thread, same global batch).")
final class DistributedBench implements Callable<Integer> {
  @Option(names = "--mb", defaultValue = "64", description = "All-reduce buffer size in MB (default ${DEFAULT-VALUE}).")
  int mb;

  @Option(names = "--ranks", defaultValue = "2", description = "Ranks (default ${DEFAULT-VALUE}).")
  int ranks;

  @Option(names = "--repeats", defaultValue = "5", description = "Timed all-reduces (default ${DEFAULT-VALUE}).")
  int repeats;

  @Option(names = "--steps", defaultValue = "4", description = "Timed training steps after 1 warm-up (default ${DEFAULT-VALUE}).")
  int steps;

  @Option(names = "--seq", defaultValue = "256", description = "Sequence length (default ${DEFAULT-VALUE}).")
  int seq;

  @Option(names = "--hidden", defaultValue = "512", description = "Hidden size (default ${DEFAULT-VALUE}).")
  int hidden;
  @Option(names = "--layers", defaultValue = "8", description = "Decoder layers (default ${DEFAULT-VALUE}).")
  int layers;
  @Option(names = "--vocab", defaultValue = "32000", description = "Vocabulary (default ${DEFAULT-VALUE}).")
  int vocab;

  @Override
  public Integer call() throws Exception {
    allReduce();
    training();
    return Main.OK;
  }

  private void allReduce() throws Exception {
    int length = mb * 1024 * 1024 / 8;
    long bytes = (long) length * 8;
    double raw = rawCopy(bytes);
    double[] seconds = new double[repeats];
    List<Object> results = LoopbackRanks.run(ranks, 60_000, ring -> {
      double[] buf = new double[length];
      Arrays.fill(buf, ring.rank() + 1);
      double[] times = new double[repeats + 1];
      for (int i = 0; i <= repeats; i++) {
        long t0 = System.nanoTime();
        ring.allReduceSum(buf);
        times[i] = (System.nanoTime() - t0) / 1e9;
      }
      return times;
    });
    double[] t = (double[]) results.get(0);
    System.arraycopy(t, 1, seconds, 0, repeats);
    double median = StepBench.median(seconds);
    double bus = 2.0 * (ranks - 1) / ranks * bytes / median / 1e9;
    System.out.printf("all-reduce of %d MB over %d ranks: median %.3f s, bus bandwidth %.2f GB/s; "
        + "raw loopback socket copy %.2f GB/s (%.0f%%)%n", mb, ranks, median, bus, raw, 100 * bus / raw);
  }

  /** One thread writes {@code bytes} into a loopback socket, another reads them: GB/s. */
  private static double rawCopy(long bytes) throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      ExecutorService pool = Executors.newSingleThreadExecutor();
      try {
        Future<?> reader = pool.submit(() -> {
          try (Socket s = server.accept(); DataInputStream in = new DataInputStream(s.getInputStream())) {
            byte[] chunk = new byte[1 << 20];
            long left = bytes;
            while (left > 0) {
              int n = (int) Math.min(chunk.length, left);
              in.readFully(chunk, 0, n);
              left -= n;
            }
          }
          return null;
        });
        long t0;
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
            DataOutputStream out = new DataOutputStream(s.getOutputStream())) {
          byte[] chunk = new byte[1 << 20];
          t0 = System.nanoTime();
          long left = bytes;
          while (left > 0) {
            int n = (int) Math.min(chunk.length, left);
            out.write(chunk, 0, n);
            left -= n;
          }
          out.flush();
          reader.get();
        }
        return bytes / ((System.nanoTime() - t0) / 1e9) / 1e9;
      } finally {
        pool.shutdownNow();
      }
    }
  }

  private void training() throws Exception {
    ModelConfig config = new ModelConfig("llama", vocab, hidden, hidden * 11 / 4, layers, 8, 8, hidden / 8,
        1e-6, ModelConfig.RopeScaling.plain(10000), false, false, 2048, 1, 2, 0);
    SplittableRandom random = new SplittableRandom(1);
    List<TrainData.Example> data = new ArrayList<>();
    for (int i = 0; i < ranks * (steps + 1) * 2; i++) {
      long[] ids = new long[seq];
      for (int t = 0; t < seq; t++) {
        ids[t] = 3 + random.nextInt(vocab - 3);
      }
      data.add(new TrainData.Example(ids, ids.clone(), null));
    }
    Path dir = Files.createTempDirectory("sparktune-bench-distributed");
    try {
      double one = tokensPerSecond(config, data, 1, dir.resolve("one"));
      double many = tokensPerSecond(config, data, ranks, dir.resolve("many"));
      System.out.printf("training, %d layers × hidden %d, seq %d, global batch %d, LoRA r=16 all-linear: "
          + "1 rank × 1 thread %.1f tokens/s; %d ranks × 1 thread %.1f tokens/s (%.2f×)%n", layers, hidden,
          seq, 2 * ranks, one, ranks, many, many / one);
    } finally {
      try (var files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** Median tokens/s of the timed steps (the first step is a warm-up) with {@code n} ranks. */
  private double tokensPerSecond(ModelConfig config, List<TrainData.Example> data, int n, Path out)
      throws Exception {
    int micro = 2 * ranks / n; // the same global batch of 2 × ranks sequences
    TrainConfig train = new TrainConfig("bench", new LoraConfig(16, 32.0, 0.0, List.of("all-linear"),
        false, null), micro, 1, null, steps + 1, 1e-4, 0.0, null, null, null, "constant", 0, null, null, 1.0,
        0, 0, 1, 1, 1L, null, null, 1, null, null, null, null, null, null);
    for (Object result : LoopbackRanks.run(n, 60_000, ring -> {
      Torch.setThreads(1);
      try (NDManager m = Torch.newManager();
          CausalLm model = ModelInit.random(config, 1, DataType.FLOAT32, m)) {
        new Trainer(TrainOptions.of(train), model, data, List.of(), out, ring).run(-1, s -> { });
      }
      return "done";
    })) {
      if (result instanceof RuntimeException e) {
        throw e;
      }
    }
    List<StepMetrics> lines = new MetricsLog(out).read();
    double[] rates = new double[lines.size() - 1];
    for (int i = 1; i < lines.size(); i++) {
      rates[i - 1] = lines.get(i).tokensPerSecond();
    }
    return StepBench.median(rates);
  }

}
