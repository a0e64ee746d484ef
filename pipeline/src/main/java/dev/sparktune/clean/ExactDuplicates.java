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
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF4;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.storage.StorageLevel;

/**
 * Exact-duplicate removal: records whose fields agree up to case and whitespace share a SHA-256 key;
 * of each key the smallest record (id, then source, uri, locator) is kept, the others are dropped as
 * {@code exact_duplicate} naming the kept id.
 *
 * <p>Only the keys are aggregated (count and smallest record per key); the keys that occur more than
 * once, usually a small table, are broadcast back to the records where they lie (up to
 * {@link #BROADCAST_KEYS}; more are joined by a shuffle), so the records are not shuffled and sorted.
 */
final class ExactDuplicates {
  /** The key column the records must carry (see {@link #key()}). */
  static final String KEY = "_key";

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
    // The UTF-8 bytes of the joined key, written field by field: an ASCII field (most of them) byte by
    // byte, another through the String path (its lower-casing can depend on context or change length).
    byte[] key = new byte[size];
    int at = 0;
    for (int f = 0; f < fields.length; f++) {
      if (f > 0) {
        key[at++] = 0x1f;
      }
      String s = fields[f];
      if (s == null) {
        key[at++] = 0;
      } else if (ascii(s)) {
        at = asciiField(s, key, at);
      } else {
        byte[] bytes = unicodeField(s).getBytes(StandardCharsets.UTF_8);
        if (at + bytes.length + size > key.length) { // room for this field and all that follow
          key = java.util.Arrays.copyOf(key, at + bytes.length + size);
        }
        System.arraycopy(bytes, 0, key, at, bytes.length);
        at += bytes.length;
      }
    }
    MessageDigest sha = SHA256.get();
    sha.update(key, 0, at);
    return java.util.HexFormat.of().formatHex(sha.digest());
  }

  private static boolean ascii(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) >= 0x80) {
        return false;
      }
    }
    return true;
  }

  /** An ASCII field into {@code key} from {@code at}: runs of \\s as one space, lower-cased. */
  private static int asciiField(String s, byte[] key, int at) {
    boolean space = false;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r') {
        space = true;
      } else {
        if (space) {
          key[at++] = ' ';
          space = false;
        }
        key[at++] = (byte) (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
      }
    }
    if (space) {
      key[at++] = ' ';
    }
    return at;
  }

  /**
   * Any field: runs of \\s as one space, then lower-cased as a whole as Spark 4's {@code lower} does it
   * (ICU's case mapping, here in the root locale): Java's own {@code toLowerCase} differs from it in a
   * few contexts (a final sigma after a titlecase letter, "ǅΣ ", becomes ς in Java and σ in ICU).
   */
  private static String unicodeField(String s) {
    StringBuilder b = new StringBuilder(s.length());
    boolean space = false;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r') {
        space = true;
      } else {
        if (space) {
          b.append(' ');
          space = false;
        }
        b.append(c);
      }
    }
    if (space) {
      b.append(' ');
    }
    return com.ibm.icu.lang.UCharacter.toLowerCase(com.ibm.icu.util.ULocale.ROOT, b.toString());
  }

  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
  });

  /** Splits records that carry {@link #KEY} (computed once, where they are cached) into kept and dropped. */
  static DedupSplit split(Dataset<Row> records) {
    Column self = struct(col("id"), col("source"), col("uri"), col("locator"));
    Dataset<Row> repeated = records.groupBy(KEY)
        .agg(count(lit(1)).as("_n"), min(self).as("_first"))
        .filter(col("_n").gt(1)).select(col(KEY), col("_first"))
        .persist(StorageLevel.MEMORY_AND_DISK()); // read by data and dropped: one aggregation, not two
    // Keys seen more than once are usually few: broadcast them, and the records stay where they are.
    // (Adaptive execution alone would still shuffle the records before it sees how small they are.)
    Dataset<Row> joined = records.join(repeated.count() <= BROADCAST_KEYS ? broadcast(repeated) : repeated,
        new String[] {KEY}, "left");
    Column first = col("_first").isNull().or(col("_first").eqNullSafe(self));
    Dataset<Row> dropped = joined.filter(not(first)).select(Schemas.droppedColumns(lit("exact_duplicate"),
        concat_ws("", lit("duplicate of "), col("_first.id"))));
    Dataset<Row> kept = joined.filter(first).select(Schemas.recordColumns());
    return new DedupSplit(kept, dropped, repeated::unpersist);
  }
}
