package dev.sparktune.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The record of one completed stage run, stored as {@code <work_dir>/<stage>/_manifest.json}: what
 * went in (config, upstream fingerprints, input files), what came out (counts by reason), and when.
 *
 * @param stage stage name
 * @param fingerprint hash of everything that determines the output; equal fingerprint = up to date
 * @param sparktuneVersion code version that wrote it
 * @param stageVersion the stage's own version
 * @param config the resolved stage config
 * @param upstream fingerprints of the upstream outputs that were read
 * @param inputs external files read (source stages)
 * @param counts records in, out, rejected and dropped
 * @param tables row count of every table written
 * @param breakdowns further counts a stage reports, e.g. drops per refusal phrase
 * @param startedAt ISO-8601 start time
 * @param finishedAt ISO-8601 end time
 * @param durationSeconds wall time
 */
public record Manifest(
    String stage,
    String fingerprint,
    String sparktuneVersion,
    int stageVersion,
    JsonNode config,
    Map<String, String> upstream,
    List<InputFile> inputs,
    Counts counts,
    Map<String, Long> tables,
    Map<String, Map<String, Long>> breakdowns,
    String startedAt,
    String finishedAt,
    double durationSeconds) {

  /** Mapper used for manifests and fingerprints: snake_case, sorted keys, so the bytes are canonical. */
  public static final ObjectMapper JSON = JsonMapper.builder()
      .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
      .enable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .build();

  /**
   * Counts of a stage run. {@code in = out + rejected + dropped} always holds in a written manifest.
   *
   * @param in records that entered
   * @param out records in {@code data}
   * @param rejected records that could not be read
   * @param dropped records removed on purpose
   * @param rejectedByReason rejected records per reason
   * @param droppedByReason dropped records per reason
   * @param bySource the same four numbers per source, when the records carry a {@code source}
   */
  public record Counts(
      long in,
      long out,
      long rejected,
      long dropped,
      Map<String, Long> rejectedByReason,
      Map<String, Long> droppedByReason,
      Map<String, SourceCounts> bySource) {}

  /** Per-source counts. */
  public record SourceCounts(long in, long out, long rejected, long dropped) {}

  public static Manifest read(FileSystem fs, Path path) throws IOException {
    try (InputStream in = fs.open(path)) {
      return JSON.readValue(in, Manifest.class);
    }
  }

  public void write(FileSystem fs, Path path) throws IOException {
    try (OutputStream out = fs.create(path, false)) {
      JSON.writerWithDefaultPrettyPrinter().writeValue(out, this);
    }
  }
}
