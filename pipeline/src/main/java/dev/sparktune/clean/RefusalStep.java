package dev.sparktune.clean;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.udf;

import dev.sparktune.config.CleanConfig;
import dev.sparktune.core.ChatMessage;
import dev.sparktune.core.Schemas;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The Spark wiring of {@link RefusalDetector}: one UDF over a record's four text fields and a
 * conversation's user and assistant turns (searched as the instruction and the output are) that either
 * finds the first refusal (drop mode) or strips refusal sentences (strip mode), adding the columns
 * {@code reason} and {@code detail} (the phrase) and {@code removed} (what was stripped, for the
 * audit table).
 */
final class RefusalStep {
  private static final List<String> FIELDS = List.of("instruction", "input", "output", "text");

  static final StructType REMOVAL = new StructType()
      .add("field", DataTypes.StringType, false)
      .add("removed", DataTypes.StringType, false)
      .add("phrase", DataTypes.StringType, false);

  static final StructType REFUSAL_RESULT = new StructType()
      .add("instruction", DataTypes.StringType)
      .add("input", DataTypes.StringType)
      .add("output", DataTypes.StringType)
      .add("text", DataTypes.StringType)
      .add("messages", DataTypes.createArrayType(Schemas.MESSAGE, false))
      .add("reason", DataTypes.StringType)
      .add("phrase", DataTypes.StringType)
      .add("removed", DataTypes.createArrayType(REMOVAL, false));

  private RefusalStep() {}

  /** The records with no refusal handling: null reason and detail, nothing removed. */
  static Dataset<Row> none(Dataset<Row> normalized) {
    return normalized.withColumn("reason", lit(null).cast(DataTypes.StringType))
        .withColumn("detail", lit(null).cast(DataTypes.StringType))
        .withColumn("removed", expr("cast(array() as array<struct<field:string,removed:string,phrase:string>>)"));
  }

  static Dataset<Row> apply(Dataset<Row> normalized, RefusalDetector detector, CleanConfig.Refusals rc) {
    boolean strip = rc.mode() == CleanConfig.Refusals.RefusalMode.STRIP;
    List<String> searched = rc.fields();
    int minChars = rc.minChars();
    UDF1<Row, Row> check = fields -> refusals(fields, detector, strip, searched, minChars);
    Column result = udf(check, REFUSAL_RESULT).apply(org.apache.spark.sql.functions.struct(
        col("instruction"), col("input"), col("output"), col("text"), col("messages")));
    return normalized.withColumn("_r", result).select(col("id"), col("source"), col("source_type"), col("uri"),
        col("locator"), col("_r.instruction").as("instruction"), col("_r.input").as("input"),
        col("_r.output").as("output"), col("_r.text").as("text"), col("meta"), col("_r.messages").as("messages"),
        col("_r.reason").as("reason"),
        col("_r.phrase").as("detail"), col("_r.removed").as("removed"));
  }

  private static Row refusals(Row fields, RefusalDetector detector, boolean strip, List<String> searched,
      int minChars) {
    String[] values = new String[4];
    for (int i = 0; i < 4; i++) {
      values[i] = fields.isNullAt(i) ? null : fields.getString(i);
    }
    List<ChatMessage> messages = Schemas.messagesOf(fields, 4);
    List<Row> removed = new ArrayList<>();
    String[] verdict = new String[2]; // reason, phrase
    for (int i = 0; i < 4 && !(verdict[0] != null && !strip); i++) {
      if (values[i] != null && searched.contains(FIELDS.get(i))) {
        values[i] = check(values[i], FIELDS.get(i), detector, strip, minChars, removed, verdict);
      }
    }
    for (int i = 0; messages != null && i < messages.size() && !(verdict[0] != null && !strip); i++) {
      ChatMessage m = messages.get(i);
      // A user turn is searched as the instruction is, an assistant turn as the output.
      String as = m.role().equals("user") ? "instruction" : m.role().equals("assistant") ? "output" : null;
      if (m.content() != null && as != null && searched.contains(as)) {
        String kept = check(m.content(), "messages[" + i + "]", detector, strip, minChars, removed, verdict);
        messages.set(i, new ChatMessage(m.role(), kept));
      }
    }
    return RowFactory.create(values[0], values[1], values[2], values[3], Schemas.messagesValue(messages),
        verdict[0], verdict[1], scala.jdk.javaapi.CollectionConverters.asScala(removed).toSeq());
  }

  /** Drop mode: notes the first refusal. Strip mode: strips, notes what went, and returns what is left. */
  private static String check(String value, String field, RefusalDetector detector, boolean strip, int minChars,
      List<Row> removed, String[] verdict) {
    if (!strip) {
      RefusalDetector.Match m = detector.first(value);
      if (m != null && verdict[0] == null) {
        verdict[0] = "refusal";
        verdict[1] = m.phrase();
      }
      return value;
    }
    RefusalDetector.Stripped s = detector.strip(value);
    if (s.removed().isEmpty()) {
      return value;
    }
    for (RefusalDetector.Removal r : s.removed()) {
      removed.add(RowFactory.create(field, r.sentence(), r.phrase()));
    }
    String kept = s.text().isEmpty() ? null : s.text();
    if (verdict[0] == null && (kept == null || kept.length() < minChars)) {
      verdict[0] = "refusal_stripped_too_short";
      verdict[1] = s.removed().get(0).phrase();
    }
    return kept;
  }
}
