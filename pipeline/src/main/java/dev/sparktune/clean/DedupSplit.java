package dev.sparktune.clean;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.when;

import dev.sparktune.core.Schemas;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * What a dedup step leaves: kept records, dropped records (with reason and detail), and what to release
 * once they are written. A step that looks its duplicates up where the records lie also gives its
 * {@code reason} and the {@code detail} of a dropped record as a column of the records' own columns
 * (null for a kept record), so the records several steps drop are found in one pass ({@link #droppedOf});
 * a step that joins gives null for both.
 */
record DedupSplit(Dataset<Row> kept, Dataset<Row> dropped, Runnable release, String reason, Column detail) {
  DedupSplit(Dataset<Row> kept, Dataset<Row> dropped, Runnable release) {
    this(kept, dropped, release, null, null);
  }

  /**
   * The split of {@code records} by {@code duplicateOf}, a column of their own columns naming the kept
   * record's id for a duplicate and null for a kept record (a step's lookup where the records lie):
   * kept with {@code keptColumns}, dropped with {@code reason} and "{@code detailPrefix}<id>".
   */
  static DedupSplit lookedUp(Dataset<Row> records, Column duplicateOf, Column[] keptColumns, String reason,
      String detailPrefix, Runnable release) {
    Column detail = concat(lit(detailPrefix), duplicateOf); // null where duplicateOf is
    Dataset<Row> dropped = records.filter(duplicateOf.isNotNull())
        .select(Schemas.droppedColumns(lit(reason), detail));
    return new DedupSplit(records.filter(duplicateOf.isNull()).select(keptColumns), dropped, release, reason, detail);
  }

  /**
   * The dropped records of {@code judged} (its {@code reason} and {@code detail} set where a rule
   * dropped it) and of the dedup {@code steps} run on what the rules kept: one filter of {@code judged}
   * when every step gives its detail column, else the union of the rules' drops and each step's.
   */
  static Dataset<Row> droppedOf(Dataset<Row> judged, List<DedupSplit> steps) {
    if (steps.stream().anyMatch(s -> s.detail() == null)) {
      Dataset<Row> dropped = judged.filter(col("reason").isNotNull())
          .select(Schemas.droppedColumns(col("reason"), col("detail")));
      for (DedupSplit s : steps) {
        dropped = dropped.unionByName(s.dropped());
      }
      return dropped;
    }
    Column reason = col("reason");
    Column detail = when(col("reason").isNotNull(), col("detail"));
    for (DedupSplit s : steps) { // a record a rule dropped never reaches a step: its detail there is null
      reason = coalesce(reason, when(s.detail().isNotNull(), lit(s.reason())));
      detail = coalesce(detail, s.detail());
    }
    return judged.select(Schemas.droppedColumns(reason, detail)).filter(col("reason").isNotNull());
  }
}
