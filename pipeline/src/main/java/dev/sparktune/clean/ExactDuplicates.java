package dev.sparktune.clean;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.first;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.lower;
import static org.apache.spark.sql.functions.regexp_replace;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.sha2;
import static org.apache.spark.sql.functions.when;

import dev.sparktune.core.Schemas;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.apache.spark.storage.StorageLevel;

/**
 * Exact-duplicate removal: records whose fields agree up to case and whitespace share a SHA-256 key;
 * of each key the smallest record (id, then source, uri, locator) is kept, the others are dropped as
 * {@code exact_duplicate} naming the kept id.
 */
final class ExactDuplicates {
  private ExactDuplicates() {}

  static DedupSplit split(Dataset<Row> records) {
    Column fields = concat_ws("\u001f",
        coalesce(lower(regexp_replace(col("instruction"), "\\s+", " ")), lit("\u0000")),
        coalesce(lower(regexp_replace(col("input"), "\\s+", " ")), lit("\u0000")),
        coalesce(lower(regexp_replace(col("output"), "\\s+", " ")), lit("\u0000")),
        coalesce(lower(regexp_replace(col("text"), "\\s+", " ")), lit("\u0000")));
    // A conversation: its roles and contents, compared the same way.
    // (Array functions, not to_json: Spark 4 plans to_json as an Invoke, which RAPIDS cannot run.)
    Column turns = lower(regexp_replace(expr("array_join(transform(messages, m -> concat(m.role, '\\u001e',"
        + " coalesce(m.content, '\\u0000'))), '\\u001d')"), "\\s+", " "));
    Column key = sha2(when(col("messages").isNull(), fields).otherwise(concat_ws("\u001f", fields, turns)), 256);
    WindowSpec byKey = Window.partitionBy("_key").orderBy("id", "source", "uri", "locator");
    Dataset<Row> ranked = records.withColumn("_key", key)
        .withColumn("_rank", row_number().over(byKey))
        .withColumn("_keep", first("id").over(byKey))
        .persist(StorageLevel.MEMORY_AND_DISK()); // read by data and dropped: one shuffle, not two
    Dataset<Row> dropped = ranked.filter(col("_rank").gt(1)).select(Schemas.droppedColumns(lit("exact_duplicate"),
        concat_ws("", lit("duplicate of "), col("_keep"))));
    Dataset<Row> kept = ranked.filter(col("_rank").equalTo(1)).select(Schemas.recordColumns());
    return new DedupSplit(kept, dropped, ranked::unpersist);
  }
}
