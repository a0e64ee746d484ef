package dev.sparktune.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI as a user runs it, on conf/local.yaml and the shipped samples (working directory: repo root). */
class MainTest {
  @TempDir Path work;

  private static Cli.Result cli(String... args) {
    return Cli.run(args);
  }

  /** The demo's base model, generated as the README says (it is never committed). */
  private Path demoModel() {
    Path model = work.resolve("models/tiny-llama");
    if (!Files.exists(model.resolve("config.json"))) {
      Cli.Result init = cli("init-model", "--arch", "llama", "--hidden", "64", "--layers", "2", "--heads", "4",
          "--kv-heads", "2", "--init-std", "0.1", "--tokenizer", "conf/samples/tokenizer/tokenizer.json",
          "--out", model.toString());
      assertEquals(0, init.code(), init.err());
    }
    return model;
  }

  private String[] local(String command, String... extra) {
    String[] base = {command, "--config", "conf/local.yaml", "--set", "work_dir=" + work,
        "--set", "train.base_model=" + demoModel(),
        "--set", "spark.master=local[2]", "--set", "spark.conf.spark.ui.showConsoleProgress=false"};
    String[] all = new String[base.length + extra.length];
    System.arraycopy(base, 0, all, 0, base.length);
    System.arraycopy(extra, 0, all, base.length, extra.length);
    return all;
  }

  @Test
  void runTwiceSkipsThenASetRerunsAndStatusTells() throws Exception {
    Cli.Result first = cli(local("run"));
    assertEquals(0, first.code(), first.err());
    assertTrue(first.out().matches("(?s).*ingest\\s+ran\\s+43\\s+36\\s+7\\s+0.*"), first.out());
    assertTrue(first.out().matches("(?s).*clean\\s+ran\\s+36\\s+27\\s+0\\s+9.*"), first.out());
    assertTrue(Files.isDirectory(work.resolve("clean/dropped")));
    assertTrue(first.out().matches("(?s).*cluster\\s+ran\\s+27\\s+20\\s+0\\s+7.*"), first.out());
    assertTrue(Files.isDirectory(work.resolve("cluster/clusters")));
    assertTrue(first.out().matches("(?s).*tokenize\\s+ran\\s+20\\s+20\\s+0\\s+0.*"), first.out());
    assertTrue(Files.exists(work.resolve("tokenize/dataset/dataset_dict.json")));
    assertTrue(Files.exists(work.resolve("tokenize/dataset/train/data-00000-of-00001.arrow")));
    assertTrue(first.out().matches("(?s).*train\\s+ran\\s+20\\s+20\\s+0\\s+0.*"), first.out());
    assertTrue(Files.exists(work.resolve("train/adapter/adapter_config.json")));
    assertTrue(Files.exists(work.resolve("train/adapter/adapter_model.safetensors")));
    assertTrue(Files.exists(work.resolve("train/metrics.jsonl")));
    assertTrue(first.out().contains("adapter (PEFT): "), first.out());
    // The report: one self-contained file with every section, path printed last.
    assertTrue(first.out().contains("report: file:" + work.resolve("report/index.html")), first.out());
    String report = Files.readString(work.resolve("report/index.html"));
    assertTrue(!report.contains("http:") && !report.contains("https:") && !report.contains("src="),
        "self-contained: no links to fetch");
    for (String section : List.of("Records per stage", "Why records were rejected or dropped",
        "Refusal boilerplate", "Clusters", "Token lengths", "Training", "Sample generations")) {
      assertTrue(report.contains("<h2>" + section + "</h2>"), "report section " + section);
    }
    assertTrue(report.contains("<svg"), "charts are inline SVG");
    assertTrue(report.matches("(?s).*(Overfitting|Underfitting|Well fit|Still improving).*"), "a diagnosis");
    assertTrue(report.contains("with the adapter"), "sample generations table");
    // The ShareGPT sample trains as whole conversations: the report shows one with both answers marked.
    assertTrue(report.contains("2 trained span(s)") && report.contains("<mark>Done: the corrected March invoice"),
        "a multi-turn example with its trained spans highlighted");

    // The notebooks run, cell by cell, against this demo run (jdk.jshell, a fresh JVM each).
    String explore = Notebooks.run(Path.of("notebooks/explore-dataset.ipynb"), "sparktune.work=" + work);
    assertTrue(explore.contains("20 tokenized examples"), explore);
    String inference = Notebooks.run(Path.of("notebooks/inference.ipynb"), "sparktune.work=" + work,
        "sparktune.model=" + demoModel());
    assertTrue(inference.contains("perplexity: base") && inference.contains("adapter: "), inference);
    assertTrue(Files.exists(work.resolve("ingest/_manifest.json")));
    assertTrue(Files.isDirectory(work.resolve("ingest/data")));

    Cli.Result second = cli(local("run"));
    assertEquals(0, second.code(), second.err());
    assertTrue(second.out().contains("skipped (up to date)"), second.out());
    // Nothing ran, so the report stays as it was drawn.
    assertTrue(second.out().contains("report: file:" + work.resolve("report/index.html") + " (up to date)"),
        second.out());
    assertEquals(report, Files.readString(work.resolve("report/index.html")));

    Cli.Result status = cli(local("status"));
    assertTrue(status.out().matches("(?s)ingest\\s+up to date\\s+\\[last run .*: 36 out, 7 rejected, 0 dropped\\].*"),
        status.out());
    Cli.Result staleStatus = cli(local("status", "--set", "ingest.max_snippet_chars=100"));
    assertTrue(staleStatus.out().contains("stale       config changed: ingest.max_snippet_chars"), staleStatus.out());

    Cli.Result rerun = cli(local("ingest", "--set", "ingest.max_snippet_chars=100"));
    assertEquals(0, rerun.code(), rerun.err());
    assertTrue(rerun.out().matches("(?s).*ingest\\s+ran.*"), rerun.out());
    assertTrue(rerun.out().contains("report: file:" + work.resolve("report/index.html") + "\n"), rerun.out());
    assertTrue(!report.equals(Files.readString(work.resolve("report/index.html"))), "drawn again after ingest ran");
  }

  @Test
  void planPrintsTheMemoryAndTrainRefusesAPlanThatDoesNotFitBeforeAnythingRuns() {
    String llama2 = "pipeline/src/test/resources/plan/llama-2-7b";
    Cli.Result dense = cli("plan", "--config", "conf/local.yaml", "--set", "train.base_model=" + llama2,
        "--set", "train.gpu_memory_gb=16", "--set", "train.micro_batch_size=1");
    assertEquals(1, dense.code(), dense.out() + dense.err());
    assertTrue(dense.out().contains("DOES NOT FIT train.gpu_memory_gb 16.0 GiB"), dense.out());
    Cli.Result nf4 = cli("plan", "--config", "conf/local.yaml", "--set", "train.base_model=" + llama2,
        "--set", "train.gpu_memory_gb=16", "--set", "train.micro_batch_size=1", "--set", "train.base_quantization=nf4");
    assertEquals(0, nf4.code(), nf4.out() + nf4.err());
    assertTrue(nf4.out().matches("(?s).*weights \\(frozen base\\)\\s+3\\.\\d\\d GiB.*fits train.gpu_memory_gb.*"), nf4.out());

    Cli.Result refused = cli(local("run", "--set", "train.gpu_memory_gb=0.5"));
    assertEquals(2, refused.code(), refused.out() + refused.err());
    assertTrue(refused.err().contains("the memory plan needs") && refused.err().contains("more than train.gpu_memory_gb 0.5"),
        refused.err());
    assertTrue(!Files.exists(work.resolve("ingest")), "nothing ran");
  }

  @Test
  void tooManyRejectsFailTheRunAfterWritingThem() {
    Cli.Result r = cli(local("run", "--to", "clean", "--set", "ingest.max_reject_ratio=0.1"));
    assertEquals(1, r.code(), r.out() + r.err());
    assertTrue(r.err().contains("7 of 43 input records were rejected (16.3 %), more than ingest.max_reject_ratio 0.100"),
        r.err());
    assertTrue(Files.isDirectory(work.resolve("ingest/rejects")), "the rejects are there to look at");
    assertTrue(!Files.exists(work.resolve("clean")), "later stages did not run");
    assertEquals(0, cli(local("run", "--to", "clean", "--set", "ingest.max_reject_ratio=0.2")).code());
  }

  @Test
  void configErrorsExitWithTwoAndNameTheKey() {
    Cli.Result bad = cli(local("run", "--set", "ingest.sources[songs].csv.delimiter=;;"));
    assertEquals(2, bad.code());
    assertTrue(bad.err().contains("ingest.sources[1].csv.delimiter: must be a single character"), bad.err());
    Cli.Result unknownStage = cli(local("run", "--only", "nope"));
    assertEquals(2, unknownStage.code());
    assertTrue(unknownStage.err().contains("unknown stage 'nope'"), unknownStage.err());
    Cli.Result missing = cli("status", "--config", "conf/does-not-exist.yaml");
    assertEquals(2, missing.code());
    assertTrue(missing.err().contains("config file not found: conf/does-not-exist.yaml"), missing.err());
  }

  @Test
  void helpListsCommands() {
    Cli.Result help = cli("--help");
    assertEquals(0, help.code());
    assertTrue(help.out().contains("run") && help.out().contains("ingest") && help.out().contains("status"));
  }
}
