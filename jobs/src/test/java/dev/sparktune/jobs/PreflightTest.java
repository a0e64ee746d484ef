package dev.sparktune.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checks before Spark starts: each problem one line naming the file or key, exit code 2, no stack
 * trace and no stage run.
 */
class PreflightTest {
  @TempDir Path tmp;

  private Cli.Result run(String... extra) {
    String[] base = {"run", "--config", "conf/local.yaml", "--set", "train.base_model=" + tmp.resolve("model")};
    String[] all = new String[base.length + extra.length];
    System.arraycopy(base, 0, all, 0, base.length);
    System.arraycopy(extra, 0, all, base.length, extra.length);
    return Cli.run(all);
  }

  private static void assertRefused(Cli.Result r, String... lines) {
    assertEquals(2, r.code(), r.out() + r.err());
    for (String line : lines) {
      assertTrue(r.err().contains("sparktune: preflight: " + line), r.err());
    }
    assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    assertFalse(r.out().contains(" ran "), "no stage ran: " + r.out());
  }

  @Test
  void missingSourcesAndTokenizerAreNamedBeforeAnythingRuns() {
    Path work = tmp.resolve("work");
    Cli.Result r = run("--set", "work_dir=" + work, "--set", "ingest.sources[songs].path=conf/samples/csv/nope*.csv",
        "--set", "tokenize.tokenizer=" + tmp.resolve("none/tokenizer.json"));
    assertRefused(r, "ingest: source 'songs': path 'conf/samples/csv/nope*.csv'",
        "tokenize: tokenizer " + tmp.resolve("none/tokenizer.json"));
    assertTrue(r.err().contains("matches no files"), r.err());
    assertFalse(Files.exists(work.resolve("ingest")), "nothing written");
  }

  @Test
  void aWorkDirThatCannotBeCreatedIsOneLine() throws Exception {
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    Cli.Result r = run("--set", "work_dir=" + file.resolve("work"));
    assertRefused(r, "work_dir file:" + file.resolve("work"));
  }

  @Test
  void aTokenizerLargerThanTheModelsEmbeddingIsRefused() throws Exception {
    Cli.Result init = Cli.run("init-model", "--hidden", "32", "--layers", "1", "--heads", "2",
        "--tokenizer", "conf/samples/tokenizer/tokenizer.json", "--out", tmp.resolve("model").toString());
    assertEquals(0, init.code(), init.err());
    Path config = tmp.resolve("model/config.json");
    Files.writeString(config, Files.readString(config).replaceAll("\"vocab_size\"\\s*:\\s*\\d+", "\"vocab_size\": 100"));
    Cli.Result r = run("--set", "work_dir=" + tmp.resolve("work"));
    assertRefused(r, "train: tokenize.tokenizer conf/samples/tokenizer/tokenizer.json has ids up to ");
    assertTrue(r.err().contains("embeds only 100 tokens"), r.err());
  }
}
