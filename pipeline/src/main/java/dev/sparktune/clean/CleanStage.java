package dev.sparktune.clean;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.regexp_replace;
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
import org.apache.spark.sql.api.java.UDF1;
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

  private String phrasesText;
  private String regexesText;

  public CleanStage(CleanConfig config) {
    super(NAME, 2, config, IngestStage.NAME); // 2: conversations (messages)
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
        udf.apply(col("output")).as("output"), udf.apply(col("text")).as("text"), col("meta"),
        eachMessage(udf::apply).as("messages"));
  }

  /** The conversation's messages with {@code f} applied to every content. */
  private static Column eachMessage(java.util.function.Function<Column, Column> f) {
    return org.apache.spark.sql.functions.transform(col("messages"), m -> org.apache.spark.sql.functions.struct(
        m.getField("role").as("role"), f.apply(m.getField("content")).as("content")));
  }

  Dataset<Row> normalizeSql(Dataset<Row> in) {
    Dataset<Row> unicode = in.select(col("id"), col("source"), col("source_type"), col("uri"), col("locator"),
        unicode(col("instruction")).as("instruction"), unicode(col("input")).as("input"),
        unicode(col("output")).as("output"), unicode(col("text")).as("text"), col("meta"),
        eachMessage(this::unicode).as("messages"));
    Dataset<Row> normalized = unicode.select(col("id"), col("source"), col("source_type"), col("uri"),
        col("locator"), normalize(col("instruction")).as("instruction"), normalize(col("input")).as("input"),
        normalize(col("output")).as("output"), normalize(col("text")).as("text"), col("meta"),
        eachMessage(this::normalize).as("messages"));
    return normalized;
  }

  private StageOutput judge(StageContext context, Dataset<Row> in, Dataset<Row> normalized) {
    CleanConfig.Refusals rc = config.refusals();
    Dataset<Row> refused = rc.mode() == CleanConfig.Refusals.RefusalMode.OFF ? RefusalStep.none(normalized)
        : RefusalStep.apply(normalized, detector(context), rc);
    Column[] quality = QualityRules.reasonAndDetail(config.quality());
    CleanConfig.Dedup dd = config.dedup();
    Dataset<Row> rated = refused
        .withColumn("detail", when(col("reason").isNull(), quality[1]).otherwise(col("detail")))
        .withColumn("reason", coalesce(col("reason"), quality[0]));
    // The exact-duplicate key and the near-duplicate sketch are computed in this pass, once, for the
    // records that pass; a GPU plan keeps the key in built-in expressions.
    Column key = gpuPlan(context.spark()) ? ExactDuplicates.sqlKey() : ExactDuplicates.key();
    Dataset<Row> keyed = dd.exact() ? rated.withColumn(ExactDuplicates.KEY, when(col("reason").isNull(), key)) : rated;
    Dataset<Row> judged = (dd.near()
        ? keyed.withColumn(NearDuplicates.SKETCH, when(col("reason").isNull(), NearDuplicates.sketch(dd))) : keyed)
        .persist(StorageLevel.MEMORY_AND_DISK());
    Column[] carried = dd.near() ? new Column[] {col(NearDuplicates.SKETCH)} : new Column[0];

    Dataset<Row> audit = judged.select(col("id"), col("source"), expr("explode(removed)").as("r"))
        .select(col("id"), col("source"), col("r.field").as("field"), col("r.removed").as("removed"),
            col("r.phrase").as("phrase"));

    Dataset<Row> passed = judged.filter(col("reason").isNull());
    Dataset<Row> survivors = passed.select(Schemas.withColumns(Schemas.recordColumns(), carried));
    List<DedupSplit> steps = new ArrayList<>();
    if (dd.exact()) {
      DedupSplit exact = ExactDuplicates.split(passed.select(Schemas.withColumns(
          Schemas.withColumns(Schemas.recordColumns(), carried), col(ExactDuplicates.KEY))));
      survivors = exact.kept();
      steps.add(exact);
    }
    if (dd.near()) {
      DedupSplit near = NearDuplicates.split(survivors, dd, context.spark());
      survivors = near.kept();
      steps.add(near);
    }
    Dataset<Row> dropped = DedupSplit.droppedOf(judged, steps);
    Map<String, Dataset<Row>> extras = rc.mode() == CleanConfig.Refusals.RefusalMode.STRIP ? Map.of(AUDIT, audit) : Map.of();
    LOG.info("clean: refusals {}, quality rules on, exact dedup {}, near dedup {}", rc.mode().name().toLowerCase(),
        dd.exact(), dd.near());
    return new StageOutput(survivors, null, dropped, extras, in.select("source"), () -> {
      judged.unpersist();
      for (int i = steps.size() - 1; i >= 0; i--) {
        steps.get(i).release().run();
      }
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
