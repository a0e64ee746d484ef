package dev.sparktune.report;

import static dev.sparktune.report.Svg.esc;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.sparktune.core.Workspace;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;

/**
 * The report's "what the model is trained on": one tokenized training example decoded back to text,
 * with the positions the loss sees (labels other than -100) highlighted. The example shown is the
 * one with the most separate trained spans among the first examples (a multi-turn conversation when
 * there is one), so a wrong mask is plain to see.
 */
final class TrainedExample {
  /** Examples looked at to choose one. */
  static final int CANDIDATES = 500;

  private TrainedExample() {}

  /** A run of tokens that are all trained or all masked, decoded. */
  record Segment(String text, boolean trained) {}

  /** HTML for the example with the most trained spans among {@code rows} (id, input_ids, labels). */
  static String html(Workspace ws, String tokenizer, List<Row> rows) throws IOException {
    Row best = null;
    int bestSpans = -1;
    for (Row r : rows) {
      int spans = spans(longs(r.getList(2)));
      if (spans > bestSpans || spans == bestSpans && r.getList(1).size() < best.getList(1).size()) {
        best = r;
        bestSpans = spans;
      }
    }
    if (best == null) {
      return "<p class=\"muted\">No training example to show.</p>";
    }
    List<Segment> segments;
    try (HuggingFaceTokenizer tok = open(ws, tokenizer)) {
      segments = segments(tok, longs(best.getList(1)), longs(best.getList(2)));
    }
    StringBuilder out = new StringBuilder("<p>Example <code>").append(esc(best.getString(0))).append("</code>: ")
        .append(bestSpans).append(" trained span(s), <mark>highlighted</mark>; the rest is masked (label -100) and"
            + " only read.</p><pre class=\"ex\">");
    for (Segment s : segments) {
      out.append(s.trained() ? "<mark>" : "").append(esc(s.text())).append(s.trained() ? "</mark>" : "");
    }
    return out.append("</pre>").toString();
  }

  /** The number of maximal runs of trained positions. */
  static int spans(long[] labels) {
    int n = 0;
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] != -100 && (i == 0 || labels[i - 1] == -100)) {
        n++;
      }
    }
    return n;
  }

  /** The ids cut where training starts or stops, each run decoded with special tokens kept. */
  static List<Segment> segments(HuggingFaceTokenizer tok, long[] ids, long[] labels) {
    List<Segment> out = new ArrayList<>();
    int start = 0;
    for (int i = 1; i <= ids.length; i++) {
      if (i == ids.length || (labels[i] != -100) != (labels[start] != -100)) {
        out.add(new Segment(tok.decode(Arrays.copyOfRange(ids, start, i), false), labels[start] != -100));
        start = i;
      }
    }
    return out;
  }

  private static HuggingFaceTokenizer open(Workspace ws, String tokenizer) throws IOException {
    Path path = ws.resolve(tokenizer);
    FileSystem fs = ws.fs(path);
    java.nio.file.Path local = Files.createTempFile("sparktune-report-tokenizer", ".json");
    try (InputStream in = fs.open(path)) {
      Files.write(local, in.readAllBytes());
      return HuggingFaceTokenizer.newInstance(local, Map.of("addSpecialTokens", "false", "padding", "false",
          "truncation", "false"));
    } finally {
      Files.deleteIfExists(local);
    }
  }

  private static long[] longs(List<?> values) {
    long[] out = new long[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = ((Number) values.get(i)).longValue();
    }
    return out;
  }
}
