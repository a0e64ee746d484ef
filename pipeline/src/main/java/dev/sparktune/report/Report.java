package dev.sparktune.report;

import static dev.sparktune.report.Svg.esc;
import static dev.sparktune.report.Svg.num;

import dev.sparktune.Pipeline;
import dev.sparktune.config.SparktuneConfig;
import dev.sparktune.core.Manifest;
import dev.sparktune.core.ParquetTables;
import dev.sparktune.core.StageRunner;
import dev.sparktune.core.Version;
import dev.sparktune.core.Workspace;
import dev.sparktune.train.MetricsLog;
import dev.sparktune.train.Samples;
import dev.sparktune.train.StepMetrics;
import dev.sparktune.train.TrainStage;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The run report: one self-contained HTML file ({@code <work_dir>/report/index.html}, inline SVG,
 * no network) with what each stage did and why records were lost, the clusters, the token lengths,
 * the training curves with a diagnosis, and sample generations of the base model vs the adapter.
 * It reads stage outputs only (tables, manifests, metrics.jsonl, samples.jsonl) and loads no model.
 * Sections whose stage has not run say so.
 */
public final class Report {
  private static final Logger LOG = LoggerFactory.getLogger(Report.class);
  private static final int WIDTH = 760;

  private final SparkSession spark;
  private final Workspace ws;
  private final SparktuneConfig config;
  private final StringBuilder html = new StringBuilder();

  public Report(SparkSession spark, Workspace ws, SparktuneConfig config) {
    this.spark = spark;
    this.ws = ws;
    this.config = config;
  }

  /** Writes the report and returns its path. */
  public Path write() throws IOException {
    Map<String, Manifest> manifests = manifests();
    head(ReportKey.of(ws, manifests, config));
    funnel(manifests);
    reasons(manifests);
    refusals(manifests.get("clean"));
    clusters(manifests.containsKey("cluster"));
    tokens(manifests.containsKey("tokenize"));
    List<StepMetrics> metrics = training(manifests.containsKey("train"));
    samples(manifests.containsKey("train") && !metrics.isEmpty());
    html.append("</main></body></html>\n");

    Path dir = new Path(ws.root(), "report");
    FileSystem fs = ws.fs(dir);
    if (fs instanceof org.apache.hadoop.fs.LocalFileSystem local) {
      fs = local.getRawFileSystem(); // no .crc file beside the report
    }
    fs.mkdirs(dir);
    Path tmp = new Path(dir, ".index.html.tmp");
    try (OutputStream out = fs.create(tmp, true)) {
      out.write(html.toString().getBytes(StandardCharsets.UTF_8));
    }
    Path file = file();
    fs.delete(file, false);
    fs.rename(tmp, file);
    return file;
  }

  /**
   * The report in place when it was drawn from what work_dir holds now (its {@link ReportKey} is the
   * same), else null: {@link #write} would draw the same report again.
   */
  public Path current() throws IOException {
    Path file = file();
    return ReportKey.carries(ws.fs(file), file, ReportKey.of(ws, manifests(), config)) ? file : null;
  }

  private Path file() {
    return new Path(new Path(ws.root(), "report"), "index.html");
  }

  /** The manifests of the stages that have run, in pipeline order. */
  private Map<String, Manifest> manifests() throws IOException {
    Map<String, Manifest> manifests = new LinkedHashMap<>();
    for (String stage : Pipeline.stageNames()) {
      Path m = ws.manifest(stage);
      FileSystem fs = ws.fs(m);
      if (fs.exists(m)) {
        manifests.put(stage, Manifest.read(fs, m));
      }
    }
    return manifests;
  }

  private void head(String key) {
    html.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">").append(ReportKey.meta(key));
    html.append("""

        <title>sparktune report</title>
        <style>
        body{font-family:sans-serif;margin:0;background:#f6f7f9;color:#1d2329}
        main{max-width:820px;margin:0 auto;padding:16px 24px 48px;background:#fff}
        h1{font-size:22px;margin:8px 0 2px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2e8;padding-bottom:4px}
        p,li,td,th{font-size:13px;line-height:1.45} .muted{color:#6b7480} .diag{font-weight:bold}
        table{border-collapse:collapse;width:100%} td,th{border-bottom:1px solid #e6e9ee;padding:3px 6px;text-align:left;vertical-align:top}
        th{background:#f0f2f5} td.n{text-align:right;font-variant-numeric:tabular-nums}
        pre{white-space:pre-wrap;margin:0;font-size:12px;font-family:monospace}
        h3{font-size:14px;margin:18px 0 6px} pre.ex{background:#f6f7f9;padding:8px;border:1px solid #e6e9ee}
        mark{background:#c9f0d0;color:#0b3d17}
        </style></head><body><main>
        """);
    html.append("<h1>sparktune report</h1><p class=\"muted\">work_dir ").append(esc(ws.root().toString()))
        .append(" · generated ").append(esc(Instant.now().toString())).append(" · sparktune ")
        .append(esc(Version.get())).append("</p>");
  }

  private void funnel(Map<String, Manifest> manifests) {
    html.append("<h2>Records per stage</h2>");
    if (manifests.isEmpty()) {
      html.append("<p class=\"muted\">No stage has run yet.</p>");
      return;
    }
    Map<String, double[]> rows = new LinkedHashMap<>();
    html.append("<table><tr><th>stage</th><th>in</th><th>out</th><th>rejected</th><th>dropped</th>"
        + "<th>seconds</th><th>finished</th></tr>");
    manifests.forEach((stage, m) -> {
      Manifest.Counts c = m.counts();
      rows.put(stage, new double[] {c.in(), c.out()});
      html.append("<tr><td>").append(stage).append("</td><td class=n>").append(c.in())
          .append("</td><td class=n>").append(c.out()).append("</td><td class=n>").append(c.rejected())
          .append("</td><td class=n>").append(c.dropped()).append("</td><td class=n>")
          .append(String.format(Locale.ROOT, "%.1f", m.durationSeconds())).append("</td><td>")
          .append(esc(m.finishedAt())).append("</td></tr>");
    });
    html.append("</table>").append(Svg.bars(rows, List.of("in", "out"), WIDTH));
  }

  private void reasons(Map<String, Manifest> manifests) {
    html.append("<h2>Why records were rejected or dropped</h2>");
    Map<String, double[]> rows = new LinkedHashMap<>();
    manifests.forEach((stage, m) -> {
      m.counts().rejectedByReason().forEach((r, n) -> rows.put(stage + " rejected: " + r, new double[] {n}));
      m.counts().droppedByReason().forEach((r, n) -> rows.put(stage + " dropped: " + r, new double[] {n}));
    });
    if (rows.isEmpty()) {
      html.append("<p>Nothing was rejected or dropped.</p>");
      return;
    }
    html.append(Svg.bars(rows, List.of("records"), WIDTH));
    html.append("<p class=\"muted\">Every rejected or dropped record is kept with its reason: "
        + "<code>&lt;stage&gt;/rejects</code> and <code>&lt;stage&gt;/dropped</code> under work_dir.</p>");
  }

  private void refusals(Manifest clean) {
    html.append("<h2>Refusal boilerplate</h2>");
    if (clean == null) {
      html.append("<p class=\"muted\">The clean stage has not run.</p>");
      return;
    }
    Map<String, double[]> rows = new LinkedHashMap<>();
    clean.breakdowns().forEach((name, counts) -> {
      if (name.startsWith("refusal")) {
        counts.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).limit(12)
            .forEach(e -> rows.put(e.getKey(), new double[] {e.getValue()}));
      }
    });
    if (rows.isEmpty()) {
      html.append("<p>No refusal phrase matched.</p>");
    } else {
      html.append("<p>Top matched phrases (records dropped or stripped per phrase):</p>")
          .append(Svg.bars(rows, List.of("records"), WIDTH));
    }
    try {
      List<Row> sample = ParquetTables.read(spark, ws.table("clean", StageRunner.DROPPED).toString())
          .filter("reason like 'refusal%'").select("id", "reason", "detail", "output", "text").limit(5)
          .collectAsList();
      if (!sample.isEmpty()) {
        html.append("<p>A sample of the audited drops:</p><table><tr><th>reason</th><th>phrase</th>"
            + "<th>response (start)</th></tr>");
        for (Row r : sample) {
          String body = r.getString(3) != null ? r.getString(3) : r.getString(4);
          html.append("<tr><td>").append(esc(r.getString(1))).append("</td><td>").append(esc(r.getString(2)))
              .append("</td><td><pre>").append(esc(cut(body, 220))).append("</pre></td></tr>");
        }
        html.append("</table>");
      }
    } catch (Exception e) {
      LOG.debug("report: no refusal sample: {}", e.getMessage());
    }
  }

  private void clusters(boolean ran) {
    html.append("<h2>Clusters</h2>");
    if (!ran) {
      html.append("<p class=\"muted\">The cluster stage has not run (or is disabled).</p>");
      return;
    }
    List<Row> rows = ParquetTables.read(spark, ws.table("cluster", "clusters").toString())
        .orderBy(org.apache.spark.sql.functions.col("size_before").desc()).limit(20).collectAsList();
    Map<String, double[]> bars = new LinkedHashMap<>();
    for (Row r : rows) {
      List<String> terms = r.getList(r.fieldIndex("top_terms"));
      String label = "#" + r.getAs("cluster_id") + " " + String.join(", ", terms.subList(0, Math.min(3, terms.size())));
      bars.put(cut(label, 30), new double[] {r.<Long>getAs("size_before"), r.<Long>getAs("size_after")});
    }
    html.append("<p>Records per cluster before and after per-cluster selection (largest 20):</p>")
        .append(Svg.bars(bars, List.of("before", "after"), WIDTH));
  }

  private void tokens(boolean ran) {
    html.append("<h2>Token lengths</h2>");
    if (!ran) {
      html.append("<p class=\"muted\">The tokenize stage has not run.</p>");
      return;
    }
    TokenLengths t = TokenLengths.of(ParquetTables.read(spark, ws.table("tokenize", StageRunner.DATA).toString()),
        config.tokenize() == null ? null : config.tokenize().maxLength(), 24);
    html.append(Svg.histogram(t.counts(), t.top(), t.maxLength(), "max_length " + t.maxLength(), "tokens per example",
        WIDTH));
    html.append(String.format(Locale.ROOT, "<p>%d examples (%d train, %d validation); %d truncated to "
        + "max_length; median %s tokens, longest %d.</p>", t.examples(), t.examples() - t.validation(),
        t.validation(), t.truncated(), num(t.median()), t.longest()));
    html.append("<h3>What the model is trained on</h3>");
    // The first candidates of the table's first partition, not the smallest ids: a limit without an
    // order reads only the first row batches instead of every example's token arrays (1.5-3.8 s at
    // 200,000 examples). The same table gives the same candidates.
    List<Row> examples = ParquetTables.read(spark, ws.table("tokenize", StageRunner.DATA).toString())
        .filter("split = 'train'").select("id", "input_ids", "labels")
        .limit(TrainedExample.CANDIDATES).collectAsList();
    try {
      html.append(TrainedExample.html(ws, config.tokenize().tokenizer(), examples));
    } catch (IOException | RuntimeException e) {
      LOG.warn("report: cannot decode a training example: {}", e.toString());
      html.append("<p class=\"muted\">Cannot decode a training example: ").append(esc(e.getMessage())).append("</p>");
    }
  }

  private List<StepMetrics> training(boolean ran) throws IOException {
    html.append("<h2>Training</h2>");
    if (!ran) {
      html.append("<p class=\"muted\">The train stage has not run.</p>");
      return List.of();
    }
    Path file = new Path(ws.stageDir(TrainStage.NAME), MetricsLog.FILE);
    List<StepMetrics> metrics;
    try (InputStream in = ws.fs(file).open(file)) {
      metrics = MetricsLog.read(in);
    }
    if (metrics.isEmpty()) {
      html.append("<p class=\"muted\">No metrics were logged.</p>");
      return metrics;
    }
    List<double[]> loss = new ArrayList<>();
    List<double[]> eval = new ArrayList<>();
    List<double[]> lr = new ArrayList<>();
    double best = Double.MAX_VALUE;
    Double bestStep = null;
    List<Double> tps = new ArrayList<>();
    List<Double> gflops = new ArrayList<>();
    for (StepMetrics n : metrics) {
      double step = n.step();
      loss.add(new double[] {step, n.loss()});
      lr.add(new double[] {step, n.lr()});
      tps.add(n.tokensPerSecond());
      gflops.add(n.gflops());
      if (n.evalLoss() != null) {
        double e = n.evalLoss();
        eval.add(new double[] {step, e});
        if (e < best) {
          best = e;
          bestStep = step;
        }
      }
    }
    Map<String, List<double[]>> curves = new LinkedHashMap<>();
    curves.put("train loss", loss);
    if (!eval.isEmpty()) {
      curves.put("eval loss", eval);
    }
    html.append("<p class=\"diag\">").append(esc(diagnose(loss, eval))).append("</p>");
    html.append(Svg.lines(curves, "optimizer step", "loss", bestStep,
        bestStep == null ? null : "best eval (step " + num(bestStep) + ", kept in best/)", WIDTH));
    html.append(Svg.lines(Map.of("learning rate", lr), "optimizer step", "learning rate", null, null, WIDTH));
    html.append(String.format(Locale.ROOT, "<p>%d logged steps; median %s tokens/s, %s GFLOP/s. "
        + "Adapter: <code>%s</code> (PEFT format); best-eval adapter: <code>%s</code>.</p>", metrics.size(),
        num(median(tps)), num(median(gflops)), esc(new Path(ws.stageDir(TrainStage.NAME), "adapter").toString()),
        esc(new Path(ws.stageDir(TrainStage.NAME), "best").toString())));
    return metrics;
  }

  /**
   * Reading the curves: overfit when eval loss ends well above its minimum while train loss kept
   * falling; underfit when train loss barely moved or was still falling steeply at the end with eval
   * loss close to it; otherwise well fit.
   */
  static String diagnose(List<double[]> train, List<double[]> eval) {
    if (train.size() < 3) {
      return "Too few steps to read the curves.";
    }
    double first = train.get(0)[1];
    double last = tail(train);
    if (eval.size() >= 2) {
      double minEval = eval.stream().mapToDouble(p -> p[1]).min().orElse(Double.NaN);
      double lastEval = eval.get(eval.size() - 1)[1];
      if (lastEval > minEval * 1.03 && last < first) {
        return String.format(Locale.ROOT, "Overfitting: eval loss ended at %.3f, %.1f %% above its best "
            + "(%.3f), while train loss kept falling (%.3f → %.3f). Use best/, train fewer steps or on more "
            + "data, or raise dropout.", lastEval, 100 * (lastEval / minEval - 1), minEval, first, last);
      }
    }
    if (last > first * 0.9) {
      return String.format(Locale.ROOT, "Underfitting: train loss moved little (%.3f → %.3f). Train "
          + "longer, raise the learning rate or the LoRA rank.", first, last);
    }
    int n = train.size();
    double lateSlope = (train.get(n - 1)[1] - train.get(n - 1 - n / 5)[1]) / Math.max(1, n / 5);
    double overallSlope = (last - first) / n;
    if (lateSlope < 0.5 * overallSlope) {
      return String.format(Locale.ROOT, "Still improving: train loss %.3f → %.3f and still falling fast "
          + "at the end; more steps would likely help.", first, last);
    }
    return String.format(Locale.ROOT, "Well fit: train loss %.3f → %.3f and levelling off%s.", first, last,
        eval.isEmpty() ? "" : String.format(Locale.ROOT, ", eval loss %.3f at the end",
            eval.get(eval.size() - 1)[1]));
  }

  private static double tail(List<double[]> pts) {
    int n = Math.max(1, pts.size() / 10);
    return pts.subList(pts.size() - n, pts.size()).stream().mapToDouble(p -> p[1]).average().orElse(Double.NaN);
  }

  /** The train stage's sample generations ({@link Samples}): the base model vs the trained adapter. */
  private void samples(boolean trained) {
    html.append("<h2>Sample generations</h2>");
    Path file = new Path(ws.stageDir(TrainStage.NAME), Samples.FILE);
    try {
      if (!trained || !ws.fs(file).exists(file)) {
        html.append("<p class=\"muted\">Needs a trained adapter (and the train stage's samples.jsonl).</p>");
        return;
      }
      List<Samples.Sample> samples;
      try (InputStream in = ws.fs(file).open(file)) {
        samples = Samples.read(in);
      }
      html.append("<table><tr><th>prompt</th><th>expected</th><th>base model</th><th>with the adapter</th></tr>");
      for (Samples.Sample e : samples) {
        html.append("<tr><td><pre>").append(esc(cut(e.prompt(), 300))).append("</pre></td><td><pre>")
            .append(esc(cut(e.expected(), 200))).append("</pre></td><td><pre>")
            .append(esc(cut(e.base(), 200))).append("</pre></td><td><pre>")
            .append(esc(cut(e.adapter(), 200))).append("</pre></td></tr>");
      }
      html.append("</table><p class=\"muted\">Greedy decoding, at most ").append(Samples.MAX_NEW_TOKENS)
          .append(" new tokens. The demo's tiny random base model produces noise; the adapter moves it toward "
          + "the data.</p>");
    } catch (Exception e) {
      html.append("<p class=\"muted\">Could not read the samples: ").append(esc(e.getMessage())).append("</p>");
      LOG.warn("report: no sample generations: {}", e.toString());
    }
  }

  private static String cut(String s, int max) {
    if (s == null) {
      return "";
    }
    return s.length() <= max ? s : s.substring(0, max) + "…";
  }

  private static double median(List<? extends Number> values) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    double[] v = values.stream().mapToDouble(Number::doubleValue).sorted().toArray();
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }
}
