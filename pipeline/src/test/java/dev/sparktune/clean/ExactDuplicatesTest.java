package dev.sparktune.clean;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.sparktune.TestSpark;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/** The Java key of exact dedup is the SQL expression's key, character for character. */
class ExactDuplicatesTest {
  /** Letters with case rules of their own, every \s character, NBSP (not \s), a surrogate pair. */
  private static final String[] PIECES = {"Hello", "WORLD", " ", "  ", "\t", "\n", "\r\n", "\u000B", "\f", "x.", "\u00A0",
      "ΟΔΟΣ", "Σ", "İstanbul", "STRASSE", "ß", "ǅ", "😀", "Ω", "é", "E\u0301", "x", ".", "\u0000", ""};

  private static String text(Random random) {
    return text(random, PIECES.length);
  }

  /** From the first {@code pieces} pieces only (the ten ASCII ones when 10). */
  private static String text(Random random, int pieces) {
    int kind = random.nextInt(10);
    if (kind == 0) {
      return null;
    }
    StringBuilder b = new StringBuilder();
    int n = kind == 1 ? 0 : 1 + random.nextInt(8);
    for (int i = 0; i < n; i++) {
      b.append(PIECES[random.nextInt(pieces)]);
    }
    return b.toString();
  }

  @Test
  void javaKeyEqualsTheSqlKey() {
    StructType schema = new StructType().add("instruction", DataTypes.StringType).add("input", DataTypes.StringType)
        .add("output", DataTypes.StringType).add("text", DataTypes.StringType)
        .add("messages", DataTypes.createArrayType(new StructType().add("role", DataTypes.StringType)
            .add("content", DataTypes.StringType)));
    Random random = new Random(17);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      rows.add(RowFactory.create(text(random), text(random), text(random), text(random), null));
    }
    for (int i = 0; i < 1000; i++) { // ASCII-only fields, some beside others
      rows.add(RowFactory.create(text(random, 10), text(random, i % 2 == 0 ? 10 : PIECES.length), text(random, 10),
          text(random, 10), null));
    }
    Dataset<Row> df = TestSpark.get().createDataFrame(rows, schema);
    List<Row> keys = df.select(col("instruction"), col("input"), col("output"), col("text"),
        ExactDuplicates.sqlKey().as("sql"), ExactDuplicates.key().as("java")).collectAsList();
    assertEquals(rows.size(), keys.size());
    for (Row r : keys) {
      assertEquals(r.getString(4), r.getString(5), r.toString());
      assertEquals(r.getString(4), ExactDuplicates.fieldsKey(r.getString(0), r.getString(1), r.getString(2),
          r.getString(3)), r.toString());
    }
  }
  /** Of each key the smallest record (id, then source, uri, locator) is kept; the others name it. */
  @Test
  void keepsTheSmallestRecordOfEachKey() {
    StructType schema = dev.sparktune.core.Schemas.RECORD.add(ExactDuplicates.KEY, DataTypes.StringType, true);
    String[][] records = {
        {"b", "s1", "k1"}, {"a", "s2", "k1"}, {"c", "s0", "k1"}, {"d", "s1", "k2"}, {"e", "s2", "k3"}, {"e", "s1", "k3"}};
    List<Row> rows = new ArrayList<>();
    for (String[] r : records) {
      rows.add(RowFactory.create(r[0], r[1], "csv", "u", "l", "q", null, "a", null, java.util.Map.of(), null, r[2]));
    }
    Dataset<Row> df = TestSpark.get().createDataFrame(rows, schema).repartition(3);
    // The repeated keys looked up in each task (the default), then joined.
    for (long limit : new long[] {ExactDuplicates.LOOKUP_KEYS, 0}) {
      DedupSplit split = ExactDuplicates.split(df, limit);
      java.util.TreeSet<String> kept = new java.util.TreeSet<>();
      for (Row r : split.kept().collectAsList()) {
        kept.add(r.getString(0) + "/" + r.getString(1));
        assertEquals(dev.sparktune.core.Schemas.RECORD.fieldNames().length, r.size(), "the key is not kept");
      }
      java.util.TreeSet<String> dropped = new java.util.TreeSet<>();
      for (Row r : split.dropped().collectAsList()) {
        dropped.add(r.getString(0) + "/" + r.getString(1) + " " + r.getAs("reason") + ": " + r.getAs("detail"));
      }
      split.release().run();
      assertEquals("[a/s2, d/s1, e/s1]", kept.toString(), "limit " + limit);
      assertEquals("[b/s1 exact_duplicate: duplicate of a, c/s0 exact_duplicate: duplicate of a,"
          + " e/s2 exact_duplicate: duplicate of e]", dropped.toString(), "limit " + limit);
    }
  }
  /**
   * The records the rules dropped and the exact duplicates, found in one pass of the judged records
   * (the duplicates looked up) or as the union of each step's drops (joined): the same rows.
   */
  @Test
  void droppedInOnePassAreTheRulesAndTheStepsDrops() {
    StructType schema = dev.sparktune.core.Schemas.RECORD.add(ExactDuplicates.KEY, DataTypes.StringType, true)
        .add("reason", DataTypes.StringType, true).add("detail", DataTypes.StringType, true);
    String[][] records = {{"b", "k1", null}, {"a", "k1", null}, {"c", "k2", null}, {"d", null, "too_short"},
        {"e", null, "refusal"}, {"f", "k2", null}, {"g", "k3", null}};
    List<Row> rows = new ArrayList<>();
    for (String[] r : records) {
      rows.add(RowFactory.create(r[0], "s", "csv", "u", "l", "q", null, "a", null, java.util.Map.of(), null, r[1],
          r[2], r[2] == null ? null : "rule " + r[2]));
    }
    Dataset<Row> judged = TestSpark.get().createDataFrame(rows, schema).repartition(2);
    Dataset<Row> passed = judged.filter(col("reason").isNull()).drop("reason", "detail");
    for (long limit : new long[] {ExactDuplicates.LOOKUP_KEYS, 0}) {
      DedupSplit split = ExactDuplicates.split(passed, limit);
      assertEquals(limit > 0, split.detail() != null, "a detail column only where the duplicates are looked up");
      java.util.TreeSet<String> dropped = new java.util.TreeSet<>();
      for (Row r : DedupSplit.droppedOf(judged, List.of(split)).collectAsList()) {
        dropped.add(r.getAs("id") + " " + r.getAs("reason") + ": " + r.getAs("detail"));
        assertEquals(dev.sparktune.core.Schemas.RECORD.fieldNames().length + 2, r.size());
      }
      split.release().run();
      assertEquals("[b exact_duplicate: duplicate of a, d too_short: rule too_short, e refusal: rule refusal,"
          + " f exact_duplicate: duplicate of c]", dropped.toString(), "limit " + limit);
    }
  }
}
