package dev.sparktune.clean;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/** What a dedup step leaves: kept records, dropped records (with reason and detail), and what to release once they are written. */
record DedupSplit(Dataset<Row> kept, Dataset<Row> dropped, Runnable release) {}
