package dev.sparktune.clean;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.format_number;
import static org.apache.spark.sql.functions.length;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.regexp_replace;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.when;

import dev.sparktune.config.CleanConfig;
import dev.sparktune.core.Schemas;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.types.DataTypes;

/**
 * The clean stage's quality rules as Spark column expressions: per-field length and word-count
 * limits, then rules on the response ({@code output}, else {@code text}, else a conversation's
 * assistant turns): mean word length, symbols
 * per word, lines ending in an ellipsis, repetition and non-printable characters. The first rule a
 * record breaks gives its drop reason and a detail with the measured value.
 */
final class QualityRules {
  private static final List<String> FIELDS = List.of("instruction", "input", "output", "text");
  /** A conversation's response: its assistant turns. */
  private static final String RESPONSE_TURNS = Schemas.turnsSql("assistant");
  private static final String RESPONSE = "coalesce(output, text, " + RESPONSE_TURNS + ")";

  private QualityRules() {}

  /** {reason, detail}: null for a record that breaks no rule. */
  static Column[] reasonAndDetail(CleanConfig.Quality q) {
    List<Column[]> rules = new ArrayList<>(); // {condition, reason, detail}
    if (q.dropEmptyOutput()) {
      rules.add(new Column[] {col("instruction").isNotNull().and(col("output").isNull()), lit("empty_output"),
          lit("instruction without output")});
    }
    rules.add(new Column[] {col("instruction").isNull().and(col("input").isNull()).and(col("output").isNull())
        .and(col("text").isNull()).and(col("messages").isNull()), lit("empty_record"),
        lit("nothing left after normalization")});
    rules.add(rule(expr("exists(messages, m -> m.content is null)"), "empty_turn",
        concat_ws("", lit("message "), expr("cast(array_position(transform(messages, m -> m.content is null), true) - 1"
            + " as string)"), lit(" of the conversation is empty after cleaning"))));
    for (String f : FIELDS) {
      addFieldRules(q, f, rules);
    }
    addResponseRules(q, rules);
    Column reason = lit(null).cast(DataTypes.StringType);
    Column detail = lit(null).cast(DataTypes.StringType);
    for (int i = rules.size() - 1; i >= 0; i--) {
      Column[] r = rules.get(i);
      reason = when(r[0], r[1]).otherwise(reason);
      detail = when(r[0], r[2]).otherwise(detail);
    }
    return new Column[] {reason, detail};
  }

  private static void addFieldRules(CleanConfig.Quality q, String f, List<Column[]> rules) {
    Column c = col(f);
    if (q.minChars().containsKey(f)) {
      int n = q.minChars().get(f);
      rules.add(rule(c.isNotNull().and(length(c).lt(n)), "too_short",
          concat_ws("", lit(f + ": "), length(c).cast("string"), lit(" chars < " + n))));
    }
    if (q.maxChars().containsKey(f)) {
      int n = q.maxChars().get(f);
      rules.add(rule(c.isNotNull().and(length(c).gt(n)), "too_long",
          concat_ws("", lit(f + ": "), length(c).cast("string"), lit(" chars > " + n))));
    }
    if (q.minWords().containsKey(f)) {
      int n = q.minWords().get(f);
      rules.add(rule(c.isNotNull().and(words(c).lt(n)), "too_few_words",
          concat_ws("", lit(f + ": "), words(c).cast("string"), lit(" words < " + n))));
    }
    if (q.maxWords().containsKey(f)) {
      int n = q.maxWords().get(f);
      rules.add(rule(c.isNotNull().and(words(c).gt(n)), "too_many_words",
          concat_ws("", lit(f + ": "), words(c).cast("string"), lit(" words > " + n))));
    }
  }

  private static void addResponseRules(CleanConfig.Quality q, List<Column[]> rules) {
    Column response = coalesce(col("output"), col("text"), expr(RESPONSE_TURNS));
    Column w = words(response);
    if (q.minMeanWordLength() != null || q.maxMeanWordLength() != null) {
      Column mean = length(regexp_replace(response, "\\s+", "")).divide(w);
      Column bad = lit(false);
      if (q.minMeanWordLength() != null) {
        bad = bad.or(mean.lt(q.minMeanWordLength()));
      }
      if (q.maxMeanWordLength() != null) {
        bad = bad.or(mean.gt(q.maxMeanWordLength()));
      }
      rules.add(rule(w.gt(0).and(bad), "mean_word_length",
          concat_ws("", lit("mean word length "), format_number(mean, 2))));
    }
    if (q.maxSymbolWordRatio() != null) {
      Column symbols = expr("regexp_count(" + RESPONSE + ", '#')")
          .plus(expr("regexp_count(" + RESPONSE + ", '\\\\.\\\\.\\\\.|\u2026')"));
      Column ratio = symbols.divide(w);
      rules.add(rule(w.gt(0).and(ratio.gt(q.maxSymbolWordRatio())), "symbol_ratio",
          concat_ws("", lit("symbols per word "), format_number(ratio, 3))));
    }
    if (q.maxEllipsisLineFraction() != null) {
      Column frac = expr("size(filter(split(" + RESPONSE + ", '\\n'), l -> l rlike '(\\\\.\\\\.\\\\.|\u2026)\\\\s*$'))"
          + " / size(split(" + RESPONSE + ", '\\n'))");
      rules.add(rule(response.isNotNull().and(frac.gt(q.maxEllipsisLineFraction())), "ellipsis_lines",
          concat_ws("", lit("lines ending in an ellipsis "), format_number(frac, 2))));
    }
    addContentRules(q, response, rules);
  }

  private static void addContentRules(CleanConfig.Quality q, Column response, List<Column[]> rules) {
    if (q.maxDuplicateNgramFraction() != null) {
      int n = q.repetitionNgram();
      UDF2<String, Integer, Double> rep = (s, k) -> Repetition.duplicateNgramFraction(s, k);
      Column frac = udf(rep, DataTypes.DoubleType).apply(response, lit(n));
      rules.add(rule(response.isNotNull().and(frac.gt(q.maxDuplicateNgramFraction())), "repetition",
          concat_ws("", lit("duplicate " + n + "-gram character fraction "), format_number(frac, 2))));
    }
    if (q.maxNonPrintableRatio() != null) {
      Column ratio = expr("regexp_count(" + RESPONSE + ", '[\\\\p{C}\\\\uFFFD&&[^\\\\n\\\\t]]')")
          .divide(length(response));
      rules.add(rule(response.isNotNull().and(ratio.gt(q.maxNonPrintableRatio())), "non_printable",
          concat_ws("", lit("non-printable ratio "), format_number(ratio, 3))));
    }
  }

  private static Column words(Column c) {
    return when(c.isNull(), lit(0)).otherwise(org.apache.spark.sql.functions.size(
        org.apache.spark.sql.functions.split(org.apache.spark.sql.functions.trim(c), "\\s+")));
  }

  private static Column[] rule(Column condition, String reason, Column detail) {
    return new Column[] {coalesce(condition, lit(false)), lit(reason), detail};
  }
}
