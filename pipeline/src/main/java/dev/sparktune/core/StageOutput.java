package dev.sparktune.core;

import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * What a stage produced, still lazy: the {@code data} table, the tables of records it lost (each with a
 * {@code reason} column), any further tables, and the records that entered, so the runner can check
 * that every record that entered is accounted for.
 *
 * @param data the stage's main output
 * @param rejected records that could not be read, or {@code null}; counted as {@code rejected}
 * @param dropped records removed on purpose (filters, dedup), or {@code null}; counted as {@code dropped}
 * @param extras further tables written beside {@code data} (e.g. an audit), by folder name
 * @param entered one row per record that entered the stage; with a {@code source} column the count
 *     invariant is also checked per source. Null for a stage that creates its records (ingest): what
 *     entered is then the rows it wrote, each in one of its tables, and the counts say so
 * @param release called after everything is written, e.g. to unpersist a cached input
 */
public record StageOutput(
    Dataset<Row> data,
    Dataset<Row> rejected,
    Dataset<Row> dropped,
    Map<String, Dataset<Row>> extras,
    Dataset<Row> entered,
    Runnable release) {

  public StageOutput {
    extras = extras == null ? Map.of() : Map.copyOf(extras);
    release = release == null ? () -> { } : release;
    for (String name : extras.keySet()) {
      if (name.equals(StageRunner.DATA) || name.equals(StageRunner.REJECTS) || name.equals(StageRunner.DROPPED)) {
        throw new IllegalArgumentException("extra table name '" + name + "' is reserved");
      }
    }
  }
}
