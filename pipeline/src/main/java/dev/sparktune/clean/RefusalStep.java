package dev.sparktune.clean;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.udf;

import dev.sparktune.config.CleanConfig;
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
 * The Spark wiring of {@link RefusalDetector}: one UDF over a record's four text fields that either
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
        col("instruction"), col("input"), col("output"), col("text")));
    return normalized.withColumn("_r", result).select(col("id"), col("source"), col("source_type"), col("uri"),
        col("locator"), col("_r.instruction").as("instruction"), col("_r.input").as("input"),
        col("_r.output").as("output"), col("_r.text").as("text"), col("meta"), col("_r.reason").as("reason"),
        col("_r.phrase").as("detail"), col("_r.removed").as("removed"));
  }

  private static Row refusals(Row fields, RefusalDetector detector, boolean strip, List<String> searched,
      int minChars) {
    String[] values = new String[4];
    for (int i = 0; i < 4; i++) {
      values[i] = fields.isNullAt(i) ? null : fields.getString(i);
    }
    List<Row> removed = new ArrayList<>();
    String reason = null;
    String phrase = null;
    for (int i = 0; i < 4; i++) {
      if (values[i] == null || !searched.contains(FIELDS.get(i))) {
        continue;
      }
      if (!strip) {
        RefusalDetector.Match m = detector.first(values[i]);
        if (m != null) {
          reason = "refusal";
          phrase = m.phrase();
          break;
        }
        continue;
      }
      RefusalDetector.Stripped s = detector.strip(values[i]);
      if (s.removed().isEmpty()) {
        continue;
      }
      for (RefusalDetector.Removal r : s.removed()) {
        removed.add(RowFactory.create(FIELDS.get(i), r.sentence(), r.phrase()));
      }
      values[i] = s.text().isEmpty() ? null : s.text();
      if (reason == null && (values[i] == null || values[i].length() < minChars)) {
        reason = "refusal_stripped_too_short";
        phrase = s.removed().get(0).phrase();
      }
    }
    return RowFactory.create(values[0], values[1], values[2], values[3], reason, phrase,
        scala.jdk.javaapi.CollectionConverters.asScala(removed).toSeq());
  }
}
