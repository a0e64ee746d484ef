package dev.sparktune.report;

import java.util.ArrayList;
import java.util.List;
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
   * Counts, median and length histogram of a tokenize data table, from one Spark query that counts the
   * examples of each length: the driver gets a row per distinct length (at most the longest example's
   * token count), never a row per example. {@code maxLength} null: the longest example.
   */
  static TokenLengths of(Dataset<Row> data, Integer maxLength, int bins) {
    List<Row> byLength = data.groupBy("num_tokens").agg(functions.count(functions.lit(1)),
        functions.expr("count_if(truncated)"), functions.expr("count_if(split = 'validation')"))
        .collectAsList();
    long examples = 0;
    long truncated = 0;
    long validation = 0;
    List<long[]> lengths = new ArrayList<>(); // (length, examples), by length
    for (Row r : byLength) {
      examples += r.getLong(1);
      truncated += r.getLong(2);
      validation += r.getLong(3);
      lengths.add(new long[] {r.getInt(0), r.getLong(1)});
    }
    lengths.sort(java.util.Comparator.comparingLong(l -> l[0])); // here: an orderBy would sample first (a job)
    int longest = lengths.isEmpty() ? 1 : Math.max(1, (int) lengths.get(lengths.size() - 1)[0]);
    int mark = maxLength == null ? longest : maxLength;
    double top = Math.max(mark, longest) * 1.05;
    long[] counts = new long[bins];
    for (long[] l : lengths) {
      counts[Svg.bin(l[0], bins, top)] += l[1];
    }
    return new TokenLengths(examples, validation, truncated, median(lengths, examples), longest, mark, top, counts);
  }

  /**
   * The median as Spark's {@code percentile(x, 0.5)} gives it: the value at position (n - 1) / 2 of the
   * sorted values, halfway between the two middle ones when n is even; NaN when there are none.
   */
  private static double median(List<long[]> lengths, long n) {
    if (n == 0) {
      return Double.NaN;
    }
    long lower = (n - 1) / 2;
    long upper = n / 2;
    double low = Double.NaN;
    long seen = 0;
    for (long[] l : lengths) {
      long before = seen;
      seen += l[1];
      if (lower >= before && lower < seen) {
        low = l[0];
      }
      if (upper < seen) {
        return (low + l[0]) / 2;
      }
    }
    throw new IllegalStateException("median past the last length"); // n is the sum of the counts
  }
}
