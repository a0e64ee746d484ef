package dev.sparktune.clean;

import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.lower;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.regexp_replace;
import static org.apache.spark.sql.functions.sha2;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.when;

import dev.sparktune.core.Schemas;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF4;
import org.apache.spark.sql.api.java.UDF5;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.StorageLevel;

/**
 * Exact-duplicate removal: records whose fields agree up to case and whitespace share a SHA-256 key;
 * of each key the smallest record (id, then source, uri, locator) is kept, the others are dropped as
 * {@code exact_duplicate} naming the kept id.
 *
 * <p>Only the keys are aggregated (count and smallest record per key); the keys that occur more than
 * once, usually a small table, are sent to the records where they lie (looked up in a map up to
 * {@link #LOOKUP_KEYS}, joined by a broadcast up to {@link #BROADCAST_KEYS}; more are joined by a
 * shuffle), so the records are not shuffled and sorted.
 */
final class ExactDuplicates {
  /** The reason of the records it drops, and their detail before the kept record's id. */
  static final String REASON = "exact_duplicate";
  private static final String DETAIL = "duplicate of ";

  /** The key column the records must carry (see {@link #key()}). */
  static final String KEY = "_key";

  /**
   * Up to this many repeated keys are looked up in a map on every task (~400 bytes each as Java
   * strings: ~100 MB at most); up to {@link #BROADCAST_KEYS} are joined by a broadcast (~200 bytes
   * each as Spark's binary rows); more by a shuffle.
   */
  static final long LOOKUP_KEYS = 250_000;

  /** Up to this many repeated keys are broadcast to the records rather than joined by a shuffle. */
  static final long BROADCAST_KEYS = 1_000_000;

  private ExactDuplicates() {}

  /** A record's duplicate key: its fields (or a conversation's turns) lower-cased, whitespace runs as one space. */
  static Column key() {
    // Records without a conversation (nearly all) go through one Java pass that feeds the digest
    // directly; it gives the same hex string as the SQL expression below (ExactDuplicatesTest).
    UDF4<String, String, String, String, String> fields = ExactDuplicates::fieldsKey;
    return when(col("messages").isNull(), udf(fields, DataTypes.StringType)
        .apply(col("instruction"), col("input"), col("output"), col("text"))).otherwise(sqlKey());
  }

  /** The key as Spark SQL expressions (the reference for {@link #fieldsKey}, and the conversations' key). */
  static Column sqlKey() {
    Column fields = concat_ws("\u001f",
        coalesce(lower(regexp_replace(col("instruction"), "\\s+", " ")), lit("\u0000")),
        coalesce(lower(regexp_replace(col("input"), "\\s+", " ")), lit("\u0000")),
        coalesce(lower(regexp_replace(col("output"), "\\s+", " ")), lit("\u0000")),
        coalesce(lower(regexp_replace(col("text"), "\\s+", " ")), lit("\u0000")));
    // A conversation: its roles and contents, compared the same way.
    // (Array functions, not to_json: Spark 4 plans to_json as an Invoke, which RAPIDS cannot run.)
    Column turns = lower(regexp_replace(expr("array_join(transform(messages, m -> concat(m.role, '\\u001e',"
        + " coalesce(m.content, '\\u0000'))), '\\u001d')"), "\\s+", " "));
    return sha2(when(col("messages").isNull(), fields).otherwise(concat_ws("\u001f", fields, turns)), 256);
  }

  /**
   * SHA-256 (hex) of the four fields, each with runs of {@code \\s} (space, tab, newline, vertical tab,
   * form feed, carriage return) as one space and lower-cased (a null field as U+0000), joined by U+001F.
   */
  static String fieldsKey(String instruction, String input, String output, String text) {
    String[] fields = {instruction, input, output, text};
    int size = fields.length;
    for (String f : fields) {
      size += f == null ? 1 : f.length();
    }
    // The joined key in one char buffer, field by field. An ASCII field (most of them) is lower-cased
    // while its spaces are collapsed; another is lower-cased as a whole afterwards, as Spark 4's
    // lower() does it (ICU's case mapping, here in the root locale): Java's own toLowerCase differs
    // from it in a few contexts (a final sigma after a titlecase letter, "ǅΣ ", gives ς in Java, σ in
    // ICU), and the mapping can change the field's length.
    char[] key = new char[size];
    int at = 0;
    boolean allAscii = true;
    for (int f = 0; f < fields.length; f++) {
      if (f > 0) {
        key[at++] = '\u001f';
      }
      String s = fields[f];
      if (s == null) {
        key[at++] = '\u0000';
        continue;
      }
      boolean ascii = ascii(s);
      int start = at;
      at = collapseSpaces(s, key, at, ascii);
      if (!ascii) {
        allAscii = false;
        String lowered = com.ibm.icu.lang.UCharacter.toLowerCase(com.ibm.icu.util.ULocale.ROOT,
            new String(key, start, at - start));
        if (start + lowered.length() + size > key.length) { // room for this field and all that follow
          key = Arrays.copyOf(key, start + lowered.length() + size);
        }
        lowered.getChars(0, lowered.length(), key, start);
        at = start + lowered.length();
      }
    }
    byte[] utf8;
    if (allAscii) {
      utf8 = new byte[at];
      for (int i = 0; i < at; i++) {
        utf8[i] = (byte) key[i];
      }
    } else {
      utf8 = new String(key, 0, at).getBytes(StandardCharsets.UTF_8);
    }
    return java.util.HexFormat.of().formatHex(SHA256.get().digest(utf8));
  }

  private static boolean ascii(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) >= 0x80) {
        return false;
      }
    }
    return true;
  }

  /**
   * {@code s} into {@code out} from {@code at} with each run of \\s (space, tab, newline, vertical tab,
   * form feed, carriage return) as one space, A-Z lower-cased when {@code lowerAscii}; returns the end.
   */
  private static int collapseSpaces(String s, char[] out, int at, boolean lowerAscii) {
    boolean space = false;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r') {
        space = true;
      } else {
        if (space) {
          out[at++] = ' ';
          space = false;
        }
        out[at++] = lowerAscii && c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c;
      }
    }
    if (space) {
      out[at++] = ' ';
    }
    return at;
  }

  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
  });

  /**
   * Splits records that carry {@link #KEY} (computed once, where they are cached) into kept (with the
   * records' columns but the key) and dropped.
   */
  static DedupSplit split(Dataset<Row> records) {
    return split(records, LOOKUP_KEYS);
  }

  /**
   * {@link #split(Dataset)}, the repeated keys looked up where the records lie when there are at most
   * {@code maxLookupKeys} of them, else joined to the records (tests: 0).
   */
  static DedupSplit split(Dataset<Row> records, long maxLookupKeys) {
    Column self = struct(col("id"), col("source"), col("uri"), col("locator"));
    Dataset<Row> repeated = records.groupBy(KEY)
        .agg(count(lit(1)).as("_n"), min(self).as("_first"))
        .filter(col("_n").gt(1)).select(col(KEY), col("_first"))
        .persist(StorageLevel.MEMORY_AND_DISK()); // counted, then collected or joined: one aggregation
    Column[] columns = Arrays.stream(records.columns()).filter(c -> !c.equals(KEY))
        .map(org.apache.spark.sql.functions::col).toArray(Column[]::new);
    long repeatedKeys = repeated.count();
    if (repeatedKeys <= maxLookupKeys) {
      // Keys seen more than once are usually few: each task looks its records' keys up in a map of
      // them. The records stay where they are, and kept and dropped are each one filter of them
      // (a broadcast join copied every record's row twice more, a shuffle join would move them all).
      Map<String, String[]> firsts = new HashMap<>();
      for (Row r : repeated.collectAsList()) {
        Row f = r.getStruct(1);
        firsts.put(r.getString(0), new String[] {f.getString(0), f.getString(1), f.getString(2), f.getString(3)});
      }
      repeated.unpersist();
      Broadcast<Map<String, String[]>> shared = JavaSparkContext.fromSparkContext(records.sparkSession().sparkContext())
          .broadcast(firsts);
      UDF5<String, String, String, String, String, String> first = (key, id, source, uri, locator) -> {
        String[] f = key == null ? null : shared.value().get(key);
        return f == null || Arrays.equals(f, new String[] {id, source, uri, locator}) ? null : f[0];
      };
      Column duplicateOf = udf(first, DataTypes.StringType)
          .apply(col(KEY), col("id"), col("source"), col("uri"), col("locator"));
      return DedupSplit.lookedUp(records, duplicateOf, columns, REASON, DETAIL, shared::destroy);
    }
    // (Adaptive execution alone would still shuffle the records before it sees how small the keys are.)
    Dataset<Row> joined = records.join(repeatedKeys <= BROADCAST_KEYS ? broadcast(repeated) : repeated,
        new String[] {KEY}, "left");
    Column first = col("_first").isNull().or(col("_first").eqNullSafe(self));
    Dataset<Row> dropped = joined.filter(not(first)).select(Schemas.droppedColumns(lit(REASON),
        concat_ws("", lit(DETAIL), col("_first.id"))));
    return new DedupSplit(joined.filter(first).select(columns), dropped, repeated::unpersist);
  }
}
