package dev.sparktune.core;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

/**
 * One step of the pipeline: turns its upstream stages' {@code data} tables (or, for a source stage,
 * external files) into a {@code data} table plus tables of what it rejected or dropped. A stage does
 * not write anything; {@link StageRunner} reads, checks schemas, writes atomically and keeps the
 * manifest.
 */
public interface Stage {

  /** The stage's name, also its folder under the work directory. */
  String name();

  /** Bump when the stage's output for the same config and inputs changes, so old outputs go stale. */
  int version();

  /** The resolved config section of this stage; part of the fingerprint and stored in the manifest. */
  Record config();

  /** Stages whose {@code data} output this stage reads, in the order {@link #apply} receives them. */
  default List<String> upstream() {
    return List.of();
  }

  /** For each upstream stage, the columns (name and type) this stage needs from its {@code data}. */
  default Map<String, StructType> requiredInputSchemas() {
    return Map.of();
  }

  /**
   * Files this stage reads itself rather than through an upstream stage (a source stage's inputs);
   * their paths, sizes and modification times are part of the fingerprint.
   */
  default List<InputFile> externalInputs(StageContext context) throws IOException {
    return List.of();
  }

  /**
   * Checks made before Spark starts, beyond {@link #externalInputs} (which must also succeed): that
   * what the stage will read is consistent (e.g. the tokenizer fits the model) and there is room for
   * what it writes. One line per problem, naming the file or config key; empty when all is well.
   */
  default List<String> preflight(StageContext context) throws IOException {
    return List.of();
  }

  /** The exact schema of the {@code data} table. */
  StructType outputSchema();

  /**
   * Further counts for the manifest, computed from the tables once they are written (e.g. drops per
   * refusal phrase).
   *
   * @param written reads a written table by name ({@code data}, {@code dropped}, an extra's name)
   */
  default Map<String, Map<String, Long>> breakdowns(java.util.function.Function<String, Dataset<Row>> written) {
    return Map.of();
  }

  /**
   * Writes files beside the tables once they are written (e.g. a Hugging Face dataset directory);
   * they are staged and committed with the tables, so they are never visible half-written.
   *
   * @param written reads a written table by name
   * @param staging the stage's staging folder ({@code <work_dir>/_staging/<stage>-<uuid>})
   */
  default void writeFiles(StageContext context, java.util.function.Function<String, Dataset<Row>> written,
      org.apache.hadoop.fs.Path staging) throws java.io.IOException {
  }

  /**
   * The stage's own limit on a committed run's counts, checked after it runs and when it is skipped
   * as up to date: a one-line reason to stop the pipeline (e.g. more rejects than allowed), or null.
   */
  default String checkCounts(Manifest.Counts counts) {
    return null;
  }

  /**
   * Builds the output tables lazily from the inputs.
   *
   * @param inputs each upstream stage's {@code data}, keyed by stage name
   */
  StageOutput apply(StageContext context, Map<String, Dataset<Row>> inputs);
}
