package dev.sparktune.jobs;

import dev.sparktune.Pipeline;
import dev.sparktune.config.SparktuneConfig;
import dev.sparktune.core.Manifest;
import dev.sparktune.core.Sessions;
import dev.sparktune.core.StageRunner;
import dev.sparktune.core.Workspace;
import java.io.IOException;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The data stages end to end on a generated corpus of N instruction records spread over HTML pages,
 * CSV files, a MySQL dump and alpaca JSON lines, with refusal boilerplate and duplicates mixed in:
 * wall time, records/s and peak JVM heap per stage, in one bounded-heap JVM (driver = executor).
 */
@Command(name = "pipeline", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Generate --records instruction records (40 %% alpaca JSON lines, 25 %% CSV, 25 %% a MySQL "
        + "dump, 10 %% HTML pages; 3 %% refusals, 5 %% exact duplicates) under --dir and run ingest, clean, "
        + "cluster and tokenize on them, reporting wall time, records/s and peak heap per stage.",
        "Bound the heap with SPARKTUNE_HEAP (e.g. 4g)."})
final class PipelineBench implements Callable<Integer> {
  @Mixin BenchOptions bench = new BenchOptions();

  @Option(names = "--records", defaultValue = "200000", description = "Records (default ${DEFAULT-VALUE}).")
  int records;

  private static final String[] WORDS = ("spark data pipeline record model token cluster train adapter source "
      + "clean quality shard arrow parquet export invoice account password settings report dashboard team "
      + "project workspace billing refund customer support question answer example value column table "
      + "customer order payment delivery warehouse schedule backup restore permission role admin").split(" ");

  @Override
  public Integer call() throws Exception {
    Path root = bench.dir().resolve("n" + records);
    Path input = root.resolve("input");
    if (!Files.isDirectory(input)) {
      long t0 = System.nanoTime();
      generate(input, records);
      System.out.printf("generated %,d records under %s in %.1f s%n", records, input, (System.nanoTime() - t0) / 1e9);
    }
    Path yaml = root.resolve("bench.yaml");
    Files.writeString(yaml, """
        work_dir: %s/work
        spark: {master: "%s", conf: {spark.ui.enabled: "false", spark.ui.showConsoleProgress: "false"}}
        ingest:
          sources:
            - {name: json, type: json, path: %s/json/*.jsonl}
            - {name: csv, type: csv, path: %s/csv/*.csv, fields: {instruction: question, input: context, output: answer}}
            - {name: sql, type: sql, path: %s/sql/*.sql, sql: {table: faq}, fields: {instruction: question, output: answer}}
            - {name: html, type: html, path: %s/html/*.html}
        clean:
          refusals: {mode: drop}
          quality: {min_chars: {output: 2}, max_duplicate_ngram_fraction: 0.3}
          dedup: {exact: true, near: true}
        cluster: {k: "100", max_per_cluster: 5000, seed: 7}
        tokenize: {tokenizer: %s, max_length: 512, val_ratio: 0.01}
        """.formatted(root, bench.master, input, input, input, input,
            Path.of("conf/samples/tokenizer/tokenizer.json").toAbsolutePath()));
    SparktuneConfig config = SparktuneConfig.load(yaml, List.of());
    var spark = Sessions.start(config.spark());
    try {
      Workspace ws = new Workspace(config.workDir(), root, spark.sparkContext().hadoopConfiguration());
      StageRunner runner = new StageRunner(spark, ws, Pipeline.stages(config));
      System.out.printf("%-10s %10s %10s %9s %11s %14s%n", "stage", "in", "out", "seconds", "records/s", "peak heap MB");
      double total = 0;
      long peakAll = 0;
      for (String stage : List.of("ingest", "clean", "cluster", "tokenize")) {
        HeapPeak peak = new HeapPeak();
        peak.start();
        long t0 = System.nanoTime();
        Manifest m = runner.run(new StageRunner.Options(null, null, stage, true)).get(0).manifest();
        double seconds = (System.nanoTime() - t0) / 1e9;
        long mb = peak.finish() >> 20;
        total += seconds;
        peakAll = Math.max(peakAll, mb);
        System.out.printf("%-10s %,10d %,10d %9.1f %,11.0f %,14d%n", stage, m.counts().in(), m.counts().out(),
            seconds, m.counts().in() / seconds, mb);
      }
      System.out.printf("total %.1f s for %,d records (%,.0f records/s end to end); peak heap %,d MB of %,d MB "
          + "max; %d cores%n", total, records, records / total, peakAll, Runtime.getRuntime().maxMemory() >> 20,
          Runtime.getRuntime().availableProcessors());
    } finally {
      spark.stop();
    }
    return Main.OK;
  }

  /** Samples the heap in use every 50 ms (after GC pressure shows, not only at the end). */
  static final class HeapPeak extends Thread {
    private volatile boolean running = true;
    private long peak;

    HeapPeak() {
      setDaemon(true);
      for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
        if (pool.getType() == MemoryType.HEAP) {
          pool.resetPeakUsage();
        }
      }
    }

    @Override
    public void run() {
      while (running) {
        peak = Math.max(peak, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        try {
          Thread.sleep(50);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    long finish() throws InterruptedException {
      running = false;
      join();
      return peak;
    }
  }

  private static String sentence(Random r, int words) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < words; i++) {
      String w = WORDS[r.nextInt(WORDS.length)];
      b.append(i == 0 ? Character.toUpperCase(w.charAt(0)) + w.substring(1) : w).append(i + 1 < words ? " " : ".");
    }
    return b.toString();
  }

  /** One record's three fields; some are refusals, some repeat an earlier record exactly. */
  private static String[] record(Random r, long i, String[][] recent) {
    if (i > 20 && r.nextInt(100) < 5) {
      return recent[r.nextInt(recent.length)].clone(); // exact duplicate
    }
    String[] rec = {sentence(r, 6 + r.nextInt(10)) + " (" + i + ")", r.nextInt(4) == 0 ? sentence(r, 8) : "",
        r.nextInt(100) < 3 ? "As an AI language model, I cannot help with that. " + sentence(r, 12)
            : sentence(r, 20 + r.nextInt(60)) + " " + sentence(r, 10 + r.nextInt(30))};
    recent[(int) (i % recent.length)] = rec;
    return rec;
  }

  static void generate(Path input, int records) throws IOException {
    Random r = new Random(42);
    String[][] recent = new String[64][];
    for (int i = 0; i < recent.length; i++) {
      recent[i] = new String[] {"q", "", "a"};
    }
    int json = records * 40 / 100;
    int csv = records * 25 / 100;
    int sql = records * 25 / 100;
    int html = records - json - csv - sql;
    long n = 0;
    Files.createDirectories(input.resolve("json"));
    try (Writer w = Files.newBufferedWriter(input.resolve("json/alpaca.jsonl"), StandardCharsets.UTF_8)) {
      for (int i = 0; i < json; i++, n++) {
        String[] rec = record(r, n, recent);
        w.write("{\"instruction\": \"" + rec[0] + "\", \"input\": \"" + rec[1] + "\", \"output\": \"" + rec[2] + "\"}\n");
      }
    }
    Files.createDirectories(input.resolve("csv"));
    try (Writer w = Files.newBufferedWriter(input.resolve("csv/faq.csv"), StandardCharsets.UTF_8)) {
      w.write("question,context,answer\n");
      for (int i = 0; i < csv; i++, n++) {
        String[] rec = record(r, n, recent);
        w.write("\"" + rec[0] + "\",\"" + rec[1] + "\",\"" + (i % 50 == 0 ? rec[2].replaceFirst("\\. ", ".\n") : rec[2])
            + "\"\n");
      }
    }
    Files.createDirectories(input.resolve("sql"));
    try (Writer w = Files.newBufferedWriter(input.resolve("sql/dump.sql"), StandardCharsets.UTF_8)) {
      w.write("CREATE TABLE `faq` (`id` int, `question` text, `answer` text);\n");
      for (int i = 0; i < sql; i += 500) {
        w.write("INSERT INTO `faq` VALUES ");
        for (int j = i; j < Math.min(sql, i + 500); j++, n++) {
          String[] rec = record(r, n, recent);
          w.write((j > i ? "," : "") + "(" + j + ",'" + rec[0].replace("'", "\\'") + "','" + rec[2].replace("'", "\\'") + "')");
        }
        w.write(";\n");
      }
    }
    Path pages = Files.createDirectories(input.resolve("html"));
    for (int i = 0; i < html; i++, n++) {
      String[] rec = record(r, n, recent);
      Files.writeString(pages.resolve("page-" + i + ".html"), "<html><head><title>" + rec[0] + "</title></head><body>"
          + "<nav><a href=\"/\">Home</a> <a href=\"/help\">Help</a></nav><main><article><h1>" + rec[0] + "</h1><p>"
          + rec[2] + "</p></article></main><footer>© Example Corp · Privacy · Terms</footer></body></html>");
    }
  }
}
