package dev.sparktune.report;

import dev.sparktune.config.SparktuneConfig;
import dev.sparktune.core.Manifest;
import dev.sparktune.core.Version;
import dev.sparktune.core.Workspace;
import dev.sparktune.train.MetricsLog;
import dev.sparktune.train.Samples;
import dev.sparktune.train.TrainStage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * What a report is drawn from, as one SHA-256: the sparktune version and {@link #DRAWING}, the work_dir,
 * the tokenize config the report reads, each stage's manifest (its fingerprint and finish time: a stage
 * that runs again writes a new one) and the train stage's metrics and samples files (size and time).
 * A report carries its key in a meta tag, so that a run whose stages were all up to date can leave
 * the report in place instead of drawing the same one again.
 */
final class ReportKey {
  /** Raise when the report's drawing changes, so that reports drawn by the older code are drawn again. */
  static final int DRAWING = 1;
  private static final String META = "sparktune-report-key";
  /** The key sits in the head, well within this many bytes of the start. */
  private static final int HEAD_BYTES = 4096;

  private ReportKey() {}

  static String of(Workspace ws, Map<String, Manifest> manifests, SparktuneConfig config) throws IOException {
    StringBuilder b = new StringBuilder();
    b.append(Version.get()).append('\n').append(DRAWING).append('\n').append(ws.root()).append('\n')
        .append(config == null ? null : config.tokenize()).append('\n');
    for (Map.Entry<String, Manifest> m : manifests.entrySet()) {
      b.append(m.getKey()).append(' ').append(m.getValue().fingerprint()).append(' ')
          .append(m.getValue().finishedAt()).append('\n');
    }
    for (String name : new String[] {MetricsLog.FILE, Samples.FILE}) {
      Path file = new Path(ws.stageDir(TrainStage.NAME), name);
      FileSystem fs = ws.fs(file);
      if (fs.exists(file)) {
        FileStatus st = fs.getFileStatus(file);
        b.append(name).append(' ').append(st.getLen()).append(' ').append(st.getModificationTime()).append('\n');
      }
    }
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(b.toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
  }

  /** The head's meta tag that carries {@code key}. */
  static String meta(String key) {
    return "<meta name=\"" + META + "\" content=\"" + key + "\">";
  }

  /** Whether {@code file} exists and carries {@code key}. */
  static boolean carries(FileSystem fs, Path file, String key) throws IOException {
    if (!fs.exists(file)) {
      return false;
    }
    try (InputStream in = fs.open(file)) {
      String head = new String(in.readNBytes(HEAD_BYTES), StandardCharsets.UTF_8);
      return head.contains(meta(key));
    }
  }
}
