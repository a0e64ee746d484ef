package dev.sparktune.report;

import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * The report's token-length figures of a tokenize data table; {@code counts} are {@code bins} bins over
 * [0, top) as {@link Svg#bin}.
 */
record TokenLengths(long examples, long validation, long truncated, double median, int longest, int maxLength,
    double top, long[] counts) {

  /**
   * Counts, median and length histogram of a tokenize data table, computed by Spark: the driver gets a
   * few numbers, never a row per example. {@code maxLength} null: the longest example.
   */
  static TokenLengths of(Dataset<Row> data, Integer maxLength, int bins) {
    Row totals = data.agg(functions.count(functions.lit(1)), functions.max("num_tokens"),
        functions.expr("count_if(truncated)"), functions.expr("count_if(split = 'validation')"),
        functions.expr("percentile(num_tokens, 0.5)")).first();
    int longest = totals.isNullAt(1) ? 1 : Math.max(1, totals.getInt(1));
    int mark = maxLength == null ? longest : maxLength;
    double top = Math.max(mark, longest) * 1.05;
    long[] counts = new long[bins];
    // As Svg.bin, in double (the D suffix: a plain literal would be a decimal).
    for (Row r : data.groupBy(functions.expr(String.format(Locale.ROOT,
        "greatest(0, least(%d, cast(floor(num_tokens / %sD * %d) as int)))", bins - 1, Double.toString(top), bins)))
        .count().collectAsList()) {
      counts[r.getInt(0)] += r.getLong(1);
    }
    return new TokenLengths(totals.getLong(0), totals.getLong(3), totals.getLong(2),
        totals.isNullAt(4) ? Double.NaN : totals.getDouble(4), longest, mark, top, counts);
  }
}
