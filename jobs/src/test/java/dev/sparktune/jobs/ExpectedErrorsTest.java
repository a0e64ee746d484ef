package dev.sparktune.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Expected errors through the real CLI: one line naming the file, key or option at fault, exit code
 * 2, never a stack trace; none of these starts Spark.
 */
class ExpectedErrorsTest {
  @TempDir Path tmp;

  private static void assertOneLine(Cli.Result r, String expected) {
    assertEquals(2, r.code(), r.out() + r.err());
    assertTrue(r.err().contains(expected), r.err());
    assertFalse(r.err().contains("\tat ") || r.err().contains("Exception"), "no stack trace: " + r.err());
  }

  @Test
  void explainGpuNamesAMissingSourcePath() {
    Cli.Result r = Cli.run("explain-gpu", "--config", "conf/local.yaml", "--set", "work_dir=" + tmp.resolve("work"),
        "--set", "ingest.sources[songs].path=conf/samples/csv/nope*.csv");
    assertOneLine(r, "sparktune: preflight: ingest: source 'songs': path 'conf/samples/csv/nope*.csv'");
    assertTrue(r.err().contains("matches no files"), r.err());
  }

  @Test
  void explainGpuNamesABadKeyAMissingConfigAndAnUnknownStage() {
    assertOneLine(Cli.run("explain-gpu", "--set", "ingest.nokey=1"), "--set ingest.nokey: unknown key 'nokey'");
    assertOneLine(Cli.run("explain-gpu", "--config", "conf/does-not-exist.yaml"),
        "config file not found: conf/does-not-exist.yaml");
    assertOneLine(Cli.run("explain-gpu", "--stage", "train"), "--stage train: not a SQL stage of this config");
  }

  @Test
  void modelCommandsNameAMissingModelOrAdapterDirectory() {
    Path none = tmp.resolve("no-model");
    assertOneLine(Cli.run("score", "--model", none.toString(), "--text", "hi"),
        "--model " + none + " is not a Hugging Face model directory (no config.json)");
    assertOneLine(Cli.run("generate", "--model", none.toString(), "--prompt", "hi"),
        "--model " + none + " is not a Hugging Face model directory");
    assertOneLine(Cli.run("merge", "--model", none.toString(), "--adapter", none.toString(), "--out",
        tmp.resolve("out").toString()), "--model " + none + " is not a Hugging Face model directory");
  }

  @Test
  void benchesCheckTheirArgumentsBeforeStarting() {
    assertOneLine(Cli.run("bench", "model", "--device", "tpu"), "--device tpu: expected cpu or gpu");
    assertOneLine(Cli.run("bench", "peer", tmp.toString()), tmp + " has no make_corpus.py");
    assertOneLine(Cli.run("bench", "tokenize", "--tokenizer", tmp.resolve("t.json").toString()),
        "--tokenizer " + tmp.resolve("t.json") + " is not a file");
  }

  @Test
  void benchesAreSubcommandsAndTheOldNamesStillWork() {
    Cli.Result help = Cli.run("bench", "--help");
    assertEquals(0, help.code(), help.err());
    for (String bench : new String[] {"pipeline", "ingest", "clean", "cluster", "tokenize", "peer", "model",
        "distributed"}) {
      assertTrue(help.out().matches("(?s).*\\n\\s+" + bench + "\\s.*"), help.out());
    }
    Cli.Result old = Cli.run("bench-model", "--help");
    assertEquals(0, old.code(), old.err());
    assertTrue(old.err().contains("`bench-model` is deprecated; use `bench model`"), old.err());
    assertTrue(old.out().contains("--threads"), old.out());
    assertFalse(Cli.run("--help").out().contains("bench-model"), "the old names are hidden");
  }

  @Test
  void aConfigWithoutTokenizeSaysWhereTheRunEnds() {
    Cli.Result r = Cli.run("run", "--config", "conf/local.yaml", "--set", "work_dir=" + tmp.resolve("work"),
        "--set", "tokenize=", "--set", "train=", "--set", "ingest.sources[songs].path=conf/samples/csv/nope*.csv");
    assertOneLine(r, "sparktune: note: the config has no tokenize section, so the run ends after the cluster stage");
  }
}
