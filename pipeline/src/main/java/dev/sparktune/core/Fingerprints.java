package dev.sparktune.core;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A stage's fingerprint (its name, versions, config, upstream fingerprints and external input files)
 * and, by comparing it with the stage's manifest, whether its output is up to date. The listing of a
 * stage's external inputs is done once per runner and kept.
 */
final class Fingerprints {
  private static final Logger LOG = LoggerFactory.getLogger(StageRunner.class);

  private final SparkSession spark;
  private final Workspace workspace;
  private final Map<String, List<InputFile>> inputCache = new HashMap<>();

  Fingerprints(SparkSession spark, Workspace workspace) {
    this.spark = spark;
    this.workspace = workspace;
  }

  /** The stage's external input files, listed on first use. */
  List<InputFile> inputsOf(Stage stage) throws IOException {
    List<InputFile> cached = inputCache.get(stage.name());
    if (cached == null) {
      cached = List.copyOf(stage.externalInputs(new StageContext(spark, workspace)));
      inputCache.put(stage.name(), cached);
    }
    return cached;
  }

  String fingerprint(Stage stage, Map<String, String> upstream, List<InputFile> inputs) {
    Map<String, Object> parts = new TreeMap<>();
    parts.put("stage", stage.name());
    parts.put("stage_version", stage.version());
    parts.put("sparktune_version", Version.get());
    parts.put("config", configJson(stage));
    parts.put("upstream", new TreeMap<>(upstream));
    parts.put("inputs", inputs);
    try {
      byte[] bytes = Manifest.JSON.writeValueAsBytes(parts);
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (IOException | NoSuchAlgorithmException e) {
      throw new IllegalStateException("cannot fingerprint stage " + stage.name(), e);
    }
  }

  static JsonNode configJson(Stage stage) {
    return Manifest.JSON.valueToTree(stage.config());
  }

  /** The stage's status, given the fingerprints its upstream stages are expected to have. */
  StageStatus statusOf(Stage stage, Map<String, String> expectedUpstream) {
    Map<String, String> upstream = new TreeMap<>();
    for (String up : stage.upstream()) {
      upstream.put(up, expectedUpstream.get(up));
    }
    List<InputFile> inputs;
    try {
      inputs = inputsOf(stage);
    } catch (IOException | RuntimeException e) {
      return new StageStatus(stage.name(), StageStatus.State.UNKNOWN, "cannot list inputs: " + e.getMessage(), null,
          readManifest(stage.name()));
    }
    String expected = upstream.containsValue(null) ? null : fingerprint(stage, upstream, inputs);
    Manifest manifest = readManifest(stage.name());
    if (manifest == null) {
      return new StageStatus(stage.name(), StageStatus.State.MISSING, "never run", expected, null);
    }
    if (!exists(workspace.table(stage.name(), StageRunner.DATA))) {
      return new StageStatus(stage.name(), StageStatus.State.MISSING, "output deleted", expected, manifest);
    }
    if (expected == null) {
      return new StageStatus(stage.name(), StageStatus.State.STALE, "an upstream stage cannot be checked", null, manifest);
    }
    if (expected.equals(manifest.fingerprint())) {
      return new StageStatus(stage.name(), StageStatus.State.UP_TO_DATE, "up to date", expected, manifest);
    }
    return new StageStatus(stage.name(), StageStatus.State.STALE,
        StaleReasons.explain(stage, manifest, upstream, inputs), expected, manifest);
  }

  /** The stage's committed manifest, or null when it has none (or it cannot be read). */
  Manifest readManifest(String stage) {
    Path path = workspace.manifest(stage);
    try {
      FileSystem fs = workspace.fs(path);
      return fs.exists(path) ? Manifest.read(fs, path) : null;
    } catch (IOException e) {
      LOG.warn("{}: cannot read manifest {} ({}); treating the stage as not run", stage, path, e.getMessage());
      return null;
    }
  }

  private boolean exists(Path path) {
    try {
      return workspace.fs(path).exists(path);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
