package dev.sparktune.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sparktune.core.KillPoints;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real kills: the CLI runs as a child JVM and is stopped with SIGKILL at named points
 * ({@link KillPoints}) — during a stage's Spark job, with the output staged, in the middle of the
 * commit, between training steps and while a checkpoint is half written. After each kill nothing
 * partial is visible and {@code status} tells the truth; the run that finally completes equals a
 * run never killed (data stages byte for byte, the adapter within 1e-6, lora.dropout 0.1).
 */
class KillTest {
  @TempDir static Path tmp;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> STAGES = List.of("ingest", "clean", "cluster", "tokenize");

  @BeforeAll
  static void model() {
    Cli.Result init = Cli.run("init-model", "--arch", "llama", "--hidden", "64", "--layers", "2", "--heads", "4",
        "--kv-heads", "2", "--init-std", "0.1", "--tokenizer", "conf/samples/tokenizer/tokenizer.json",
        "--out", tmp.resolve("model").toString());
    assertEquals(0, init.code(), init.err());
  }

  private static String[] args(Path work, String command, String... extra) {
    List<String> a = new ArrayList<>(List.of(command, "--config", "conf/local.yaml", "--set", "work_dir=" + work,
        "--set", "train.base_model=" + tmp.resolve("model"), "--set", "spark.master=local[2]",
        "--set", "train.lora.dropout=0.1", "--set", "train.max_steps=6",
        "--set", "train.save_steps=2",
        "--set", "train.eval_steps=3", "--set", "train.threads=1", "--set", "train.logging_steps=1"));
    a.addAll(Arrays.asList(extra));
    return a.toArray(String[]::new);
  }

  /** The CLI as a child JVM with this JVM's classpath and flags, stderr and stdout to {@code log}. */
  static Process start(Path log, String killAt, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx1g");
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-opens") || a.startsWith("-Dai.djl") || a.startsWith("-DDJL")) {
        cmd.add(a);
      }
    }
    for (String p : List.of("DJL_CACHE_DIR", "ai.djl.offline")) {
      if (System.getProperty(p) != null) {
        cmd.add("-D" + p + "=" + System.getProperty(p));
      }
    }
    cmd.add("-Dlog4j2.configurationFile=conf/log4j2.properties");
    if (killAt != null) {
      cmd.add("-D" + KillPoints.PROPERTY + "=" + killAt);
    }
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(Main.class.getName());
    cmd.addAll(Arrays.asList(args));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  /** Waits until the child's output says it reached {@code point}; fails if it ends first. */
  static void awaitPoint(Process p, Path log, String point) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
    while (System.nanoTime() < deadline) {
      String out = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
      if (out.contains("sparktune-test: at " + point)) {
        return;
      }
      if (!p.isAlive()) {
        fail("the run ended (exit " + p.exitValue() + ") before reaching " + point + ":\n" + out);
      }
      Thread.sleep(50);
    }
    p.destroyForcibly();
    fail("the run did not reach " + point + " in 240 s:\n" + Files.readString(log));
  }

  /** Starts the CLI, SIGKILLs it at {@code point}, and returns the status lines afterwards. */
  private static Map<String, String> killAt(Path work, String point, String... args) throws Exception {
    Path log = tmp.resolve("kill-" + point.replace(':', '-') + ".log");
    Process p = start(log, point, args);
    awaitPoint(p, log, point);
    p.destroyForcibly(); // SIGKILL: no shutdown hook, no finally block runs
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(137, p.exitValue(), "killed by SIGKILL");
    return status(work);
  }

  /** {@code sparktune status}: stage → its label (up to date, stale, missing). */
  private static Map<String, String> status(Path work) {
    Cli.Result r = Cli.run(args(work, "status"));
    assertEquals(0, r.code(), r.err());
    Map<String, String> out = new TreeMap<>();
    for (String line : r.out().split("\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length >= 2 && (STAGES.contains(f[0]) || f[0].equals("train"))) {
        out.put(f[0], line.substring(line.indexOf(f[0]) + f[0].length()).trim());
      }
    }
    return out;
  }

  private static void assertNotVisible(Path work, String stage, Map<String, String> status) {
    assertFalse(Files.exists(work.resolve(stage)), stage + "/ must not exist after the kill");
    assertFalse(status.get(stage).startsWith("up to date"), stage + ": " + status.get(stage));
  }

  @Test
  void killedAnywhereTheRerunEqualsARunNeverKilled() throws Exception {
    Path ref = tmp.resolve("ref");
    Cli.Result clean = Cli.run(args(ref, "run"));
    assertEquals(0, clean.code(), clean.err());

    Path work = tmp.resolve("killed");
    // ingest, first run: mid-job, staged, committed (status must then say up to date: it is).
    assertNotVisible(work, "ingest", killAt(work, "ingest:job", args(work, "run")));
    assertNotVisible(work, "ingest", killAt(work, "ingest:staged", args(work, "run")));
    Map<String, String> s = killAt(work, "ingest:committed", args(work, "run"));
    assertTrue(s.get("ingest").startsWith("up to date"), s.toString());
    assertNotVisible(work, "clean", s);
    // clean: staged on its first run; then forced reruns killed with the old output moved aside, and
    // with the new output in place but the old not yet deleted.
    assertNotVisible(work, "clean", killAt(work, "clean:staged", args(work, "run", "--to", "clean")));
    assertEquals(0, Cli.run(args(work, "run", "--to", "clean")).code());
    s = killAt(work, "clean:aside", args(work, "clean", "--force"));
    assertNotVisible(work, "clean", s);
    assertEquals(0, Cli.run(args(work, "run", "--to", "clean")).code()); // restores the old output, up to date
    s = killAt(work, "clean:committed", args(work, "clean", "--force"));
    assertTrue(s.get("clean").startsWith("up to date"), s.toString());
    // cluster and tokenize: mid-job, staged, and mid-commit of a forced rerun.
    for (String stage : List.of("cluster", "tokenize")) {
      assertNotVisible(work, stage, killAt(work, stage + ":job", args(work, "run")));
      assertNotVisible(work, stage, killAt(work, stage + ":staged", args(work, "run", "--to", stage)));
      assertEquals(0, Cli.run(args(work, "run", "--to", stage)).code());
      assertNotVisible(work, stage, killAt(work, stage + ":aside", args(work, stage, "--force")));
    }
    // train: after step 3 (checkpoint 2 complete), with checkpoint 4 half written, with the output staged.
    assertNotVisible(work, "train", killAt(work, "train:step-3", args(work, "run")));
    assertNotVisible(work, "train", killAt(work, "train:checkpoint-4", args(work, "run")));
    assertNotVisible(work, "train", killAt(work, "train:staged", args(work, "run")));

    Cli.Result rerun = Cli.run(args(work, "run"));
    assertEquals(0, rerun.code(), rerun.err());
    for (String stage : STAGES) {
      assertEquals(tree(ref.resolve(stage)), tree(work.resolve(stage)), stage + ": the files differ");
    }
    DistributedTrainTest.assertSame(DistributedTrainTest.adapter(ref), DistributedTrainTest.adapter(work), 1e-6);
    assertEquals(Files.readAllLines(ref.resolve("train/metrics.jsonl")).size(),
        Files.readAllLines(work.resolve("train/metrics.jsonl")).size(), "one metrics line per step");
    status(work).forEach((stage, line) -> assertTrue(line.startsWith("up to date"), stage + ": " + line));
  }

  @Test
  void aSecondRunOnTheSameWorkDirIsRefusedAndTheFirstFinishes() throws Exception {
    Path work = tmp.resolve("concurrent");
    Path log = tmp.resolve("first.log");
    Process first = start(log, "clean:job", args(work, "run", "--to", "tokenize"));
    awaitPoint(first, log, "clean:job"); // a passing point: the first run goes on
    long t0 = System.nanoTime();
    Cli.Result second = Cli.run(args(work, "run", "--to", "clean"));
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertEquals(2, second.code(), second.out() + second.err());
    assertTrue(second.err().contains("is in use by `sparktune run` (pid " + first.pid() + " on host "),
        second.err());
    assertTrue(seconds < 30, "refused at once, not after waiting: " + seconds + " s");
    assertTrue(first.waitFor(300, TimeUnit.SECONDS));
    assertEquals(0, first.exitValue(), Files.readString(log));
    Map<String, String> s = status(work);
    for (String stage : STAGES) {
      assertTrue(s.get(stage).startsWith("up to date"), stage + ": " + s.get(stage));
    }
  }

  /**
   * A stage folder's files (relative name → content digest), Spark's random per-write file ids
   * taken out of the names and the manifest's timings out of its content. A Parquet file is compared
   * byte for byte up to its footer (every data and dictionary page) and by the footer's length: the
   * footer lists each column's encodings in the order of a HashSet of enum constants, which parquet-mr
   * fills per JVM, so two JVMs writing the same rows may order that list differently. Hadoop's .crc
   * files are skipped: they checksum the files compared here.
   */
  static Map<String, String> tree(Path dir) throws IOException {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        String name = dir.relativize(f).toString()
            .replaceAll("-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "");
        if (name.endsWith(".crc")) {
          continue; // Hadoop's checksum of a file compared here itself
        }
        byte[] content = Files.readAllBytes(f);
        if (name.endsWith(".parquet")) {
          int footer = java.nio.ByteBuffer.wrap(content, content.length - 8, 4)
              .order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt();
          content = java.util.Arrays.copyOf(content, content.length - 8 - footer);
          name += " (pages; footer " + footer + " bytes)";
        }
        if (f.getFileName().toString().equals("_manifest.json")) {
          ObjectNode m = (ObjectNode) JSON.readTree(content);
          m.remove(List.of("started_at", "finished_at", "duration_seconds", "startedAt", "finishedAt",
              "durationSeconds"));
          content = m.toString().getBytes(StandardCharsets.UTF_8);
        }
        out.put(name, java.util.HexFormat.of().formatHex(
            java.security.MessageDigest.getInstance("SHA-256").digest(content)));
      }
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    return out;
  }
}
