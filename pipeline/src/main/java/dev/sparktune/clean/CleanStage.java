package dev.sparktune.clean;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.first;
import static org.apache.spark.sql.functions.length;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.lower;
import static org.apache.spark.sql.functions.regexp_replace;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.sha2;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.when;

import dev.sparktune.config.CleanConfig;
import dev.sparktune.core.InputFile;
import dev.sparktune.core.Schemas;
import dev.sparktune.core.RecordStage;
import dev.sparktune.core.StageContext;
import dev.sparktune.core.StageOutput;
import dev.sparktune.ingest.IngestStage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The clean stage: Unicode and whitespace normalization, refusal boilerplate (drop or strip, with an
 * audit of every removed sentence), quality rules, then exact and near-duplicate removal. Every
 * record that enters ends in {@code data} or in {@code dropped} with its reason.
 *
 * <p>Most of the work is built-in Spark SQL expressions (regexp_replace, regexp_count, sha2,
 * xxhash64, higher-order array functions, windows, joins), which the GPU profile can accelerate;
 * Unicode normalization, refusal matching and the repetition score are Java UDFs in their own
 * projections.
 */
public final class CleanStage extends RecordStage<CleanConfig> {
  public static final String NAME = "clean";
  public static final String AUDIT = "audit";
  private static final Logger LOG = LoggerFactory.getLogger(CleanStage.class);
  private static final String BUILTIN = "builtin:";
  private static final List<String> FIELDS = List.of("instruction", "input", "output", "text");

  private String phrasesText;
  private String regexesText;

  public CleanStage(CleanConfig config) {
    super(NAME, 1, config, IngestStage.NAME);
  }






  @Override
  public StructType outputSchema() {
    return Schemas.RECORD;
  }

  /** The phrase and regex lists are inputs: editing them makes the stage stale. */
  @Override
  public List<InputFile> externalInputs(StageContext context) throws IOException {
    List<InputFile> files = new ArrayList<>();
    if (config.refusals().mode() == CleanConfig.Refusals.RefusalMode.OFF) {
      return files;
    }
    phrasesText = readList(context, config.refusals().phrases(), "refusal-phrases.txt", files);
    regexesText = readList(context, config.refusals().regexes(), "refusal-regexes.txt", files);
    return files;
  }

  private static String readList(StageContext context, String path, String builtin, List<InputFile> files)
      throws IOException {
    if (path == null) {
      try (InputStream in = CleanStage.class.getResourceAsStream(builtin)) {
        if (in == null) {
          throw new IOException("the built-in " + builtin + " is missing from the sparktune jar");
        }
        byte[] bytes = in.readAllBytes();
        files.add(new InputFile(BUILTIN + builtin, bytes.length, 0));
        return new String(bytes, StandardCharsets.UTF_8);
      }
    }
    Path p = context.workspace().resolve(path);
    FileSystem fs = context.workspace().fs(p);
    if (!fs.exists(p)) {
      throw new IOException("refusal list " + path + " (" + p + ") does not exist");
    }
    FileStatus st = fs.getFileStatus(p);
    files.add(new InputFile(p.toString(), st.getLen(), st.getModificationTime()));
    try (InputStream in = fs.open(p)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  RefusalDetector detector(StageContext context) {
    if (phrasesText == null) {
      try {
        externalInputs(context);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return new RefusalDetector(RefusalDetector.parseList(phrasesText), RefusalDetector.parseList(regexesText));
  }

  // ---------------------------------------------------------------- normalization

  /** Unicode normalization (NFC/NFKC): a Java UDF, so it gets a projection of its own (see apply). */
  private Column unicode(Column c) {
    CleanConfig.Normalize n = config.normalize();
    if (n.unicode() == CleanConfig.Normalize.UnicodeForm.NONE) {
      return c;
    }
    Normalizer.Form form = n.unicode() == CleanConfig.Normalize.UnicodeForm.NFKC ? Normalizer.Form.NFKC
        : Normalizer.Form.NFC;
    UDF1<String, String> unicode = s -> s == null ? null : Normalizer.normalize(s, form);
    // Nondeterministic keeps the optimizer from folding this UDF into the rules' projection, so
    // on a GPU cluster the rules run on the GPU and only this projection stays on the CPU.
    return udf(unicode, DataTypes.StringType).asNondeterministic().apply(c);
  }

  /** Control characters but newline and tab (\p{Cc}), zero-width characters, soft hyphens, BOMs. */
  static final String INVISIBLE = "[\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x{9F}"
      + codePoints(0x200B) + "-" + codePoints(0x200F) + codePoints(0x2060) + "-" + codePoints(0x2064)
      + codePoints(0xFEFF, 0x00AD) + "]";
  static final String NBSP = codePoints(0x00A0);

  private static String codePoints(int... cps) {
    StringBuilder b = new StringBuilder();
    for (int cp : cps) {
      b.appendCodePoint(cp);
    }
    return b.toString();
  }

  /**
   * Whitespace and invisible-character rules, all built-in expressions written in the regex subset
   * the RAPIDS Accelerator runs on a GPU (no \\p classes or \\u escapes in classes, no lookbehind,
   * trimming with btrim rather than an end anchor).
   */
  private Column normalize(Column c) {
    Column out = regexp_replace(c, "\\r\\n?", "\n");
    out = regexp_replace(out, INVISIBLE, "");
    if (config.normalize().collapseWhitespace()) {
      out = regexp_replace(out, "(\\S)[ " + NBSP + "]{2,}", "$1 "); // inside a line; indentation stays
      out = regexp_replace(out, "[ \\t" + NBSP + "]+\\n", "\n");
      out = regexp_replace(out, "\\n{3,}", "\n\n");
    }
    out = org.apache.spark.sql.functions.btrim(out, lit(" \t\n\u000B\f\r")); // as ^\\s+|\\s+$
    return when(out.equalTo(""), lit(null).cast(DataTypes.StringType)).otherwise(out);
  }

  // ---------------------------------------------------------------- refusals

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

  // ---------------------------------------------------------------- quality

  private static Column words(Column c) {
    return when(c.isNull(), lit(0)).otherwise(org.apache.spark.sql.functions.size(
        org.apache.spark.sql.functions.split(org.apache.spark.sql.functions.trim(c), "\\s+")));
  }

  private Column[] qualityReason() {
    CleanConfig.Quality q = config.quality();
    List<Column[]> rules = new ArrayList<>(); // {condition, reason, detail}
    if (q.dropEmptyOutput()) {
      rules.add(new Column[] {col("instruction").isNotNull().and(col("output").isNull()), lit("empty_output"),
          lit("instruction without output")});
    }
    rules.add(new Column[] {col("instruction").isNull().and(col("input").isNull()).and(col("output").isNull())
        .and(col("text").isNull()), lit("empty_record"), lit("nothing left after normalization")});
    for (String f : FIELDS) {
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
    Column response = coalesce(col("output"), col("text"));
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
          concat_ws("", lit("mean word length "), org.apache.spark.sql.functions.format_number(mean, 2))));
    }
    if (q.maxSymbolWordRatio() != null) {
      Column symbols = expr("regexp_count(coalesce(output, text), '#')")
          .plus(expr("regexp_count(coalesce(output, text), '\\\\.\\\\.\\\\.|\u2026')"));
      Column ratio = symbols.divide(w);
      rules.add(rule(w.gt(0).and(ratio.gt(q.maxSymbolWordRatio())), "symbol_ratio",
          concat_ws("", lit("symbols per word "), org.apache.spark.sql.functions.format_number(ratio, 3))));
    }
    if (q.maxEllipsisLineFraction() != null) {
      Column frac = expr("size(filter(split(coalesce(output, text), '\\n'), l -> l rlike '(\\\\.\\\\.\\\\.|\u2026)\\\\s*$'))"
          + " / size(split(coalesce(output, text), '\\n'))");
      rules.add(rule(response.isNotNull().and(frac.gt(q.maxEllipsisLineFraction())), "ellipsis_lines",
          concat_ws("", lit("lines ending in an ellipsis "), org.apache.spark.sql.functions.format_number(frac, 2))));
    }
    if (q.maxDuplicateNgramFraction() != null) {
      int n = q.repetitionNgram();
      UDF2<String, Integer, Double> rep = (s, k) -> Repetition.duplicateNgramFraction(s, k);
      Column frac = udf(rep, DataTypes.DoubleType).apply(response, lit(n));
      rules.add(rule(response.isNotNull().and(frac.gt(q.maxDuplicateNgramFraction())), "repetition",
          concat_ws("", lit("duplicate " + n + "-gram character fraction "),
              org.apache.spark.sql.functions.format_number(frac, 2))));
    }
    if (q.maxNonPrintableRatio() != null) {
      Column ratio = expr("regexp_count(coalesce(output, text), '[\\\\p{C}\\\\uFFFD&&[^\\\\n\\\\t]]')")
          .divide(length(response));
      rules.add(rule(response.isNotNull().and(ratio.gt(q.maxNonPrintableRatio())), "non_printable",
          concat_ws("", lit("non-printable ratio "), org.apache.spark.sql.functions.format_number(ratio, 3))));
    }
    Column reason = lit(null).cast(DataTypes.StringType);
    Column detail = lit(null).cast(DataTypes.StringType);
    for (int i = rules.size() - 1; i >= 0; i--) {
      Column[] r = rules.get(i);
      reason = when(r[0], r[1]).otherwise(reason);
      detail = when(r[0], r[2]).otherwise(detail);
    }
    return new Column[] {reason, detail};
  }

  private static Column[] rule(Column condition, String reason, Column detail) {
    return new Column[] {coalesce(condition, lit(false)), lit(reason), detail};
  }

  // ---------------------------------------------------------------- the plan

  @Override
  public StageOutput apply(StageContext context, Map<String, Dataset<Row>> inputs) {
    Dataset<Row> in = inputs.get(upstreamName());
    Dataset<Row> normalized = gpuPlan(context.spark()) ? normalizeSql(in) : normalizeJava(in);
    return judge(context, in, normalized);
  }

  /**
   * Whether the plan is for the RAPIDS Accelerator (its plugin is configured, or {@link #GPU_PLAN} is
   * set, as {@code explain-gpu} does): then normalization stays in built-in SQL expressions the GPU
   * runs; otherwise one Java pass per field does the same, several times faster on a CPU.
   */
  static boolean gpuPlan(org.apache.spark.sql.SparkSession spark) {
    String plugins = spark.sparkContext().getConf().get("spark.plugins", "");
    return plugins.contains("com.nvidia.spark.SQLPlugin")
        || Boolean.parseBoolean(spark.conf().get(GPU_PLAN, "false"));
  }

  /** Session setting that asks for the GPU-friendly plan without the plugin (explain-gpu). */
  public static final String GPU_PLAN = "spark.sparktune.plan.gpu";

  Dataset<Row> normalizeJava(Dataset<Row> in) {
    CleanConfig.Normalize n = config.normalize();
    Normalizer.Form form = switch (n.unicode()) {
      case NONE -> null;
      case NFKC -> Normalizer.Form.NFKC;
      default -> Normalizer.Form.NFC;
    };
    TextNormalizer normalizer = new TextNormalizer(form, n.collapseWhitespace());
    UDF1<String, String> f = normalizer::apply;
    org.apache.spark.sql.expressions.UserDefinedFunction udf = udf(f, DataTypes.StringType);
    return in.select(col("id"), col("source"), col("source_type"), col("uri"), col("locator"),
        udf.apply(col("instruction")).as("instruction"), udf.apply(col("input")).as("input"),
        udf.apply(col("output")).as("output"), udf.apply(col("text")).as("text"), col("meta"));
  }

  Dataset<Row> normalizeSql(Dataset<Row> in) {
    Dataset<Row> unicode = in.select(col("id"), col("source"), col("source_type"), col("uri"), col("locator"),
        unicode(col("instruction")).as("instruction"), unicode(col("input")).as("input"),
        unicode(col("output")).as("output"), unicode(col("text")).as("text"), col("meta"));
    Dataset<Row> normalized = unicode.select(col("id"), col("source"), col("source_type"), col("uri"),
        col("locator"), normalize(col("instruction")).as("instruction"), normalize(col("input")).as("input"),
        normalize(col("output")).as("output"), normalize(col("text")).as("text"), col("meta"));
    return normalized;
  }

  private StageOutput judge(StageContext context, Dataset<Row> in, Dataset<Row> normalized) {

    Dataset<Row> refused;
    CleanConfig.Refusals rc = config.refusals();
    if (rc.mode() == CleanConfig.Refusals.RefusalMode.OFF) {
      refused = normalized.withColumn("reason", lit(null).cast(DataTypes.StringType))
          .withColumn("detail", lit(null).cast(DataTypes.StringType))
          .withColumn("removed", expr("cast(array() as array<struct<field:string,removed:string,phrase:string>>)"));
    } else {
      RefusalDetector detector = detector(context);
      boolean strip = rc.mode() == CleanConfig.Refusals.RefusalMode.STRIP;
      List<String> searched = rc.fields();
      int minChars = rc.minChars();
      UDF1<Row, Row> check = fields -> refusals(fields, detector, strip, searched, minChars);
      Column result = udf(check, REFUSAL_RESULT).apply(org.apache.spark.sql.functions.struct(
          col("instruction"), col("input"), col("output"), col("text")));
      refused = normalized.withColumn("_r", result).select(col("id"), col("source"), col("source_type"), col("uri"),
          col("locator"), col("_r.instruction").as("instruction"), col("_r.input").as("input"),
          col("_r.output").as("output"), col("_r.text").as("text"), col("meta"), col("_r.reason").as("reason"),
          col("_r.phrase").as("detail"), col("_r.removed").as("removed"));
    }
    Column[] quality = qualityReason();
    Dataset<Row> judged = refused
        .withColumn("detail", when(col("reason").isNull(), quality[1]).otherwise(col("detail")))
        .withColumn("reason", coalesce(col("reason"), quality[0]))
        .persist(StorageLevel.MEMORY_AND_DISK());

    Dataset<Row> audit = judged.select(col("id"), col("source"), expr("explode(removed)").as("r"))
        .select(col("id"), col("source"), col("r.field").as("field"), col("r.removed").as("removed"),
            col("r.phrase").as("phrase"));

    Dataset<Row> survivors = judged.filter(col("reason").isNull()).select(Schemas.recordColumns());
    List<Dataset<Row>> dropped = new ArrayList<>();
    dropped.add(judged.filter(col("reason").isNotNull()).select(Schemas.droppedColumns(col("reason"), col("detail"))));

    CleanConfig.Dedup dd = config.dedup();
    Runnable releaseRanked = () -> { };
    if (dd.exact()) {
      Column key = sha2(concat_ws("\u001f",
          coalesce(lower(regexp_replace(col("instruction"), "\\s+", " ")), lit("\u0000")),
          coalesce(lower(regexp_replace(col("input"), "\\s+", " ")), lit("\u0000")),
          coalesce(lower(regexp_replace(col("output"), "\\s+", " ")), lit("\u0000")),
          coalesce(lower(regexp_replace(col("text"), "\\s+", " ")), lit("\u0000"))), 256);
      WindowSpec byKey = Window.partitionBy("_key").orderBy("id", "source", "uri", "locator");
      Dataset<Row> ranked = survivors.withColumn("_key", key)
          .withColumn("_rank", row_number().over(byKey))
          .withColumn("_keep", first("id").over(byKey))
          .persist(StorageLevel.MEMORY_AND_DISK()); // read by data and dropped: one shuffle, not two
      releaseRanked = ranked::unpersist;
      dropped.add(ranked.filter(col("_rank").gt(1)).select(Schemas.droppedColumns(lit("exact_duplicate"),
          concat_ws("", lit("duplicate of "), col("_keep")))));
      survivors = ranked.filter(col("_rank").equalTo(1)).select(Schemas.recordColumns());
    }
    Runnable releaseNear = () -> { };
    if (dd.near()) {
      NearDuplicates.Result near = NearDuplicates.split(survivors, dd, context.spark());
      survivors = near.kept();
      dropped.add(near.dropped());
      releaseNear = near.release();
    }
    Dataset<Row> allDropped = dropped.get(0);
    for (int i = 1; i < dropped.size(); i++) {
      allDropped = allDropped.unionByName(dropped.get(i));
    }
    Map<String, Dataset<Row>> extras = rc.mode() == CleanConfig.Refusals.RefusalMode.STRIP ? Map.of(AUDIT, audit) : Map.of();
    LOG.info("clean: refusals {}, quality rules on, exact dedup {}, near dedup {}", rc.mode().name().toLowerCase(),
        dd.exact(), dd.near());
    Runnable release = releaseNear;
    Runnable release2 = releaseRanked;
    return new StageOutput(survivors, null, allDropped, extras, in.select("source"), () -> {
      judged.unpersist();
      release.run();
      release2.run();
    });
  }

  @Override
  public Map<String, Map<String, Long>> breakdowns(Function<String, Dataset<Row>> written) {
    Map<String, Map<String, Long>> out = new TreeMap<>();
    Map<String, Long> dropped = new TreeMap<>();
    for (Row r : written.apply(DROPPED_TABLE).filter(col("reason").startsWith("refusal")).groupBy("detail").count()
        .collectAsList()) {
      dropped.put(r.getString(0), r.getLong(1));
    }
    out.put("refusal_drops_by_phrase", dropped);
    if (config.refusals().mode() == CleanConfig.Refusals.RefusalMode.STRIP) {
      Map<String, Long> stripped = new TreeMap<>();
      for (Row r : written.apply(AUDIT).groupBy("phrase").count().collectAsList()) {
        stripped.put(r.getString(0), r.getLong(1));
      }
      out.put("refusal_removals_by_phrase", stripped);
    }
    return out;
  }

  private static final String DROPPED_TABLE = dev.sparktune.core.StageRunner.DROPPED;
}
