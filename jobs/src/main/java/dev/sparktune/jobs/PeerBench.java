package dev.sparktune.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code bench peer DIR}: the data stages against the Python stack they replace, side by side, on
 * the peer's own corpus. Generates N records with {@code make_corpus.py}, then alternates, round by
 * round, {@code seed_pipeline.py} and {@code bin/sparktune run --to tokenize} with the peer's
 * {@code corpus.yaml}, each as a whole process (start-up included), timed with /usr/bin/time for the
 * peak RSS where it exists. Prints the per-step seconds of both, their ratio, and the wall clocks.
 */
@Command(name = "peer", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Compare the data stages with the Python stack they replace: generate --records with the peers' "
        + "make_corpus.py, then alternate seed_pipeline.py and `sparktune run --to tokenize` (on the peers' "
        + "corpus.yaml), whole processes, for --rounds rounds; print both sides per step and the ratio.")
final class PeerBench implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** sparktune stage → the peer's steps that do the same work. */
  static final Map<String, List<String>> STEPS = new LinkedHashMap<>();

  static {
    STEPS.put("ingest", List.of("html", "csv", "sql", "json"));
    STEPS.put("clean", List.of("clean+dedup"));
    STEPS.put("cluster", List.of("tfidf+kmeans"));
    STEPS.put("tokenize", List.of("tokenize", "split+arrow"));
  }

  @Parameters(paramLabel = "PEERS_DIR", description = "The directory holding make_corpus.py, seed_pipeline.py and "
      + "corpus.yaml (e.g. ../shared/peers).")
  Path peerDir;

  @Mixin BenchOptions bench = new BenchOptions();

  @Option(names = "--records", defaultValue = "200000", description = "Records (default ${DEFAULT-VALUE}).")
  int records;

  @Option(names = "--python", defaultValue = "python3", description = "Python with the peers' packages "
      + "(default ${DEFAULT-VALUE}).")
  String python;

  @Option(names = "--rounds", defaultValue = "2", description = "Rounds (default ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--set", paramLabel = "KEY=VALUE", description = "A --set passed to sparktune run, "
      + "e.g. --set cluster.semantic_dedup_eps=0.1. Repeatable.")
  List<String> sets = new ArrayList<>();

  private Path peer;
  private Path dir;

  /** A timed process: wall seconds, peak RSS in MB (-1 when unknown), its stdout. */
  record Timed(double seconds, long peakMb, String stdout) {}

  @Override
  public Integer call() throws IOException, InterruptedException {
    peer = peerDir.toAbsolutePath();
    dir = bench.dir();
    for (String f : List.of("make_corpus.py", "seed_pipeline.py", "corpus.yaml")) {
      if (!Files.isRegularFile(peer.resolve(f))) {
        throw new IllegalArgumentException(peer + " has no " + f + " (give the directory of the peers' scripts)");
      }
    }
    Path corpus = dir.resolve("peer-corpus-n" + records);
    if (!Files.isDirectory(corpus.resolve("json"))) {
      System.out.printf("generating %,d records with make_corpus.py under %s%n", records, corpus);
      Timed t = time(List.of(python, peer.resolve("make_corpus.py").toString(), corpus.toString(),
          String.valueOf(records)), Map.of());
      System.out.printf("generated in %.1f s%n", t.seconds());
    }
    // bin/sparktune starts the runs on this Java, with the AOT cache where it starts this JVM with one.
    String cacheFlag = "-XX:AOTCache=";
    String aot = java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .filter(a -> a.startsWith(cacheFlag)).findFirst().map(a -> "AOT cache " + a.substring(cacheFlag.length()))
        .orElse("no AOT cache");
    System.out.printf("sparktune runs on Java %s (%s)%n", System.getProperty("java.version"), aot);
    List<Map<String, Double>> peerSteps = new ArrayList<>();
    List<Map<String, Double>> ourStages = new ArrayList<>();
    List<Timed> peerRuns = new ArrayList<>();
    List<Timed> ourRuns = new ArrayList<>();
    for (int round = 1; round <= rounds; round++) {
      Timed p = peerRound(corpus, peerSteps);
      peerRuns.add(p);
      System.out.printf("round %d: peer %.1f s wall, %,d MB peak RSS%n", round, p.seconds(), p.peakMb());
      Timed s = ourRound(corpus, ourStages);
      ourRuns.add(s);
      System.out.printf("round %d: sparktune %.1f s wall, %,d MB peak RSS%n", round, s.seconds(), s.peakMb());
    }
    printComparison(peerSteps, ourStages, peerRuns, ourRuns);
    return Main.OK;
  }

  /** One run of the peers' seed_pipeline.py; adds its seconds per step to {@code peerSteps}. */
  private Timed peerRound(Path corpus, List<Map<String, Double>> peerSteps) throws IOException, InterruptedException {
    Path tokenizer = Path.of("conf/samples/tokenizer/tokenizer.json").toAbsolutePath();
    Path peerOut = dir.resolve("peer-out");
    deleteTree(peerOut);
    Timed p = time(List.of(python, peer.resolve("seed_pipeline.py").toString(), corpus.toString(), tokenizer.toString(),
        peerOut.toString()), Map.of());
    JsonNode report = JSON.readTree(p.stdout().substring(p.stdout().lastIndexOf("{\"records_in\"")));
    Map<String, Double> steps = new LinkedHashMap<>();
    report.get("seconds").fields().forEachRemaining(e -> steps.put(e.getKey(), e.getValue().asDouble()));
    peerSteps.add(steps);
    return p;
  }

  /** One {@code bin/sparktune run --to tokenize} on the peers' corpus.yaml; adds its stage seconds. */
  private Timed ourRound(Path corpus, List<Map<String, Double>> ourStages) throws IOException, InterruptedException {
    Path work = dir.resolve("sparktune-work");
    deleteTree(work);
    List<String> cmd = new ArrayList<>(List.of("bin/sparktune", "run", "--config", peer.resolve("corpus.yaml").toString(),
        "--to", "tokenize", "--set", "spark.master=" + bench.master));
    for (String s : sets) {
      cmd.add("--set");
      cmd.add(s);
    }
    Timed s = time(cmd, Map.of("CORPUS", corpus.toString(), "SPARKTUNE_WORK_DIR", work.toString()));
    Map<String, Double> stages = new LinkedHashMap<>();
    for (String stage : STEPS.keySet()) {
      JsonNode m = JSON.readTree(work.resolve(stage).resolve("_manifest.json").toFile());
      stages.put(stage, m.get("duration_seconds").asDouble());
    }
    ourStages.add(stages);
    return s;
  }

  private void printComparison(List<Map<String, Double>> peerSteps, List<Map<String, Double>> ourStages,
      List<Timed> peerRuns, List<Timed> ourRuns) {
    System.out.printf("%n%,d records, %d rounds alternated, medians:%n", records, rounds);
    System.out.printf("%-36s %12s %12s %8s%n", "step", "peer s", "sparktune s", "ratio");
    for (Map.Entry<String, List<String>> e : STEPS.entrySet()) {
      double peerSeconds = median(peerSteps.stream().mapToDouble(m -> e.getValue().stream()
          .mapToDouble(k -> m.getOrDefault(k, 0.0)).sum()).toArray());
      double ours = median(ourStages.stream().mapToDouble(m -> m.get(e.getKey())).toArray());
      System.out.printf("%-36s %12.1f %12.1f %7.2fx%n", e.getKey() + " (" + String.join(" + ", e.getValue()) + ")",
          peerSeconds, ours, peerSeconds / ours);
    }
    double peerWall = median(peerRuns.stream().mapToDouble(Timed::seconds).toArray());
    double ourWall = median(ourRuns.stream().mapToDouble(Timed::seconds).toArray());
    System.out.printf("%-36s %12.1f %12.1f %7.2fx%n", "wall, whole process", peerWall, ourWall, peerWall / ourWall);
    System.out.printf("%-36s %12d %12d%n", "peak RSS MB (max)", peerRuns.stream().mapToLong(Timed::peakMb).max()
        .orElse(-1), ourRuns.stream().mapToLong(Timed::peakMb).max().orElse(-1));
    System.out.println("(ratio = peer seconds / sparktune seconds: above 1 means sparktune is faster)");
  }

  static double median(double[] values) {
    double[] v = values.clone();
    java.util.Arrays.sort(v);
    return v.length == 0 ? Double.NaN : v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  private Timed time(List<String> command, Map<String, String> env) throws IOException, InterruptedException {
    Path usage = Files.createTempFile("sparktune-bench", ".time");
    List<String> cmd = new ArrayList<>();
    boolean gnuTime = Files.isExecutable(Path.of("/usr/bin/time"));
    if (gnuTime) {
      cmd.addAll(List.of("/usr/bin/time", "-f", "%e %M", "-o", usage.toString()));
    }
    cmd.addAll(command);
    Path log = Files.createTempFile("sparktune-bench", ".out");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(false).redirectOutput(log.toFile())
        .redirectError(ProcessBuilder.Redirect.INHERIT);
    pb.environment().putAll(env);
    long t0 = System.nanoTime();
    int rc = pb.start().waitFor();
    double seconds = (System.nanoTime() - t0) / 1e9;
    String out = Files.readString(log, StandardCharsets.UTF_8);
    Files.deleteIfExists(log);
    if (rc != 0) {
      throw new IOException(String.join(" ", command) + " exited with " + rc + ":\n" + out);
    }
    long peakMb = -1;
    if (gnuTime) {
      String[] parts = Files.readString(usage).trim().split("\\s+");
      peakMb = Long.parseLong(parts[parts.length - 1]) / 1024;
    }
    Files.deleteIfExists(usage);
    return new Timed(seconds, peakMb, out);
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (var walk = Files.walk(p)) {
      for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(q);
      }
    }
  }
}
