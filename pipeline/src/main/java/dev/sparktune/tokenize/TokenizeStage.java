package dev.sparktune.tokenize;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.when;

import dev.sparktune.config.TokenizeConfig;
import dev.sparktune.core.HadoopConf;
import dev.sparktune.core.InputFile;
import dev.sparktune.core.Schemas;
import dev.sparktune.core.RecordStage;
import dev.sparktune.core.StageContext;
import dev.sparktune.core.StageOutput;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.catalyst.encoders.ExpressionEncoder;
import org.apache.spark.sql.catalyst.encoders.RowEncoder;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

/**
 * The tokenize stage: renders each record with the prompt template, tokenizes it with the base
 * model's tokenizer.json, masks the prompt, applies the length limit, assigns the split from a hash
 * of the id and the seed, and writes {@code data} (Parquet) plus {@code dataset/}, a Hugging Face
 * DatasetDict on disk ({@code datasets.load_from_disk} opens it) with Arrow IPC stream shards.
 */
public final class TokenizeStage extends RecordStage<TokenizeConfig> {
  public static final String NAME = "tokenize";
  public static final String DATASET = "dataset";
  public static final String STATS = "stats";
  public static final List<String> SPLITS = List.of("train", "validation");

  private byte[] tokenizerBytes;
  private long eosId = -1;

  /** @param upstream the stage whose records are tokenized (cluster, or clean when clustering is off) */
  public TokenizeStage(TokenizeConfig config, String upstream) {
    super(NAME, 1, config, upstream);
  }

  @Override
  public StructType outputSchema() {
    return Schemas.TOKENIZED;
  }

  @Override
  public List<InputFile> externalInputs(StageContext context) throws IOException {
    List<InputFile> files = new ArrayList<>();
    Path tokenizer = context.workspace().resolve(config.tokenizer());
    FileSystem fs = context.workspace().fs(tokenizer);
    if (!fs.exists(tokenizer)) {
      throw new IOException("tokenizer " + config.tokenizer() + " (" + tokenizer + ") does not exist");
    }
    var st = fs.getFileStatus(tokenizer);
    files.add(new InputFile(tokenizer.toString(), st.getLen(), st.getModificationTime()));
    try (InputStream in = fs.open(tokenizer)) {
      tokenizerBytes = in.readAllBytes();
    }
    eosId = config.eosId() != null ? config.eosId() : SpecialTokens.eosId(fs, tokenizer, tokenizerBytes);
    return files;
  }

  static final StructType WORK = Schemas.RECORD
      .add("split", DataTypes.StringType, false)
      .add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), true)
      .add("labels", DataTypes.createArrayType(DataTypes.LongType, false), true)
      .add("num_tokens", DataTypes.IntegerType, false)
      .add("truncated", DataTypes.BooleanType, false)
      .add("reason", DataTypes.StringType, true)
      .add("detail", DataTypes.StringType, true);

  @Override
  public StageOutput apply(StageContext context, Map<String, Dataset<Row>> inputs) {
    if (tokenizerBytes == null) {
      try {
        externalInputs(context);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    Dataset<Row> in = inputs.get(upstreamName()).select(Schemas.recordColumns());
    // A record's split depends on its id and the seed alone, so more data never moves it.
    Column hash = expr("pmod(xxhash64(id, " + config.seed() + "L), 1000000)");
    Column split = when(hash.lt(Math.round(config.valRatio() * 1_000_000)), lit("validation")).otherwise(lit("train"));
    Dataset<Row> withSplit = in.withColumn("split", split).withColumn("_h", hash);
    if (config.valMax() != null) {
      withSplit = withSplit.withColumn("_vr", row_number().over(Window.partitionBy("split").orderBy("_h", "id")))
          .withColumn("split", when(col("split").equalTo("validation").and(col("_vr").gt(config.valMax())),
              lit("train")).otherwise(col("split")))
          .drop("_vr");
    }
    withSplit = withSplit.drop("_h");

    Broadcast<byte[]> bytes = context.spark().sparkContext().broadcast(tokenizerBytes,
        scala.reflect.ClassTag$.MODULE$.apply(byte[].class));
    PromptTemplate template = PromptTemplate.of(config.template());
    long eos = eosId;
    boolean trainOnInputs = config.trainOnInputs();
    int maxLength = config.maxLength();
    boolean drop = config.overflow() == TokenizeConfig.Overflow.DROP;
    int minResponse = config.minResponseTokens();
    int splitIndex = withSplit.schema().fieldIndex("split");
    MapPartitionsFunction<Row, Row> tokenize = tokenizer(bytes, eos, trainOnInputs, template, maxLength, drop,
        minResponse, splitIndex);
    Dataset<Row> tokenized = withSplit.mapPartitions(tokenize, ExpressionEncoder.apply(RowEncoder.encoderFor(WORK)))
        .persist(StorageLevel.MEMORY_AND_DISK());
    Dataset<Row> data = tokenized.filter(col("reason").isNull()).select(col("id"), col("source"), col("split"),
        col("input_ids"), col("labels"), col("num_tokens"), col("truncated"));
    Dataset<Row> dropped = tokenized.filter(col("reason").isNotNull())
        .select(Schemas.droppedColumns(col("reason"), col("detail")));
    int width = Math.max(1, maxLength / 16);
    Dataset<Row> stats = tokenized.filter(col("reason").isNull())
        .withColumn("bucket_start", expr("cast(floor(num_tokens / " + width + ") * " + width + " as int)"))
        .groupBy("split", "bucket_start").agg(count(lit(1)).as("examples"),
            expr("sum(cast(truncated as int))").as("truncated"))
        .withColumn("bucket_end", expr("bucket_start + " + width))
        .select("split", "bucket_start", "bucket_end", "examples", "truncated")
        .orderBy("split", "bucket_start");
    return new StageOutput(data, null, dropped, Map.of(STATS, stats), in.select("source"), tokenized::unpersist);
  }

  /** Built in a static method so the task closure does not capture the stage. */
  private static MapPartitionsFunction<Row, Row> tokenizer(Broadcast<byte[]> bytes, long eos, boolean trainOnInputs,
      PromptTemplate template, int maxLength, boolean drop, int minResponse, int splitIndex) {
    return rows -> {
      java.nio.file.Path local = Files.createTempFile("sparktune-tokenizer", ".json");
      Files.write(local, bytes.value());
      Tokenization t = new Tokenization(local, eos, trainOnInputs);
      TaskContext task = TaskContext.get();
      if (task != null) {
        task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> {
          t.close();
          try {
            Files.deleteIfExists(local);
          } catch (IOException ignored) {
            // a temp file
          }
        });
      }
      return new Iterator<Row>() {
        private final java.util.ArrayDeque<Row> ready = new java.util.ArrayDeque<>();

        @Override
        public boolean hasNext() {
          if (ready.isEmpty() && rows.hasNext()) {
            List<Row> batch = new ArrayList<>(BATCH);
            List<Tokenization.Item> items = new ArrayList<>(BATCH);
            while (batch.size() < BATCH && rows.hasNext()) {
              Row r = rows.next();
              batch.add(r);
              items.add(item(r, template));
            }
            List<Tokenization.Example> encoded = t.encodeAll(items);
            for (int i = 0; i < batch.size(); i++) {
              ready.add(example(batch.get(i), splitIndex, encoded.get(i), maxLength, drop, minResponse));
            }
          }
          return !ready.isEmpty();
        }

        @Override
        public Row next() {
          if (!hasNext()) {
            throw new java.util.NoSuchElementException();
          }
          return ready.poll();
        }
      };
    };
  }

  /** Rows encoded per tokenizer call. */
  static final int BATCH = 256;

  static Tokenization.Item item(Row r, PromptTemplate template) {
    String instruction = r.isNullAt(5) ? null : r.getString(5);
    String input = r.isNullAt(6) ? null : r.getString(6);
    String output = r.isNullAt(7) ? null : r.getString(7);
    String text = r.isNullAt(8) ? null : r.getString(8);
    if (instruction == null && output == null) {
      return Tokenization.Item.text(text);
    }
    PromptTemplate.Rendered rendered = template.render(instruction, input, output);
    return new Tokenization.Item(rendered.prompt(), rendered.response());
  }

  static Row example(Row r, int splitIndex, Tokenization.Example e, int maxLength, boolean drop, int minResponse) {
    long[] ids = e.inputIds();
    long[] labels = e.labels();
    boolean truncated = false;
    String reason = null;
    String detail = null;
    if (ids.length > maxLength) {
      if (drop) {
        reason = "too_long";
        detail = ids.length + " tokens > max_length " + maxLength;
      } else {
        int kept = maxLength - e.promptLength();
        if (e.promptLength() > 0 && kept < minResponse) {
          reason = "response_truncated";
          detail = "only " + Math.max(0, kept) + " response tokens would remain (min_response_tokens " + minResponse
              + "), " + ids.length + " tokens";
        } else {
          // No EOS after a cut: the model must not learn to stop mid-answer.
          ids = java.util.Arrays.copyOf(ids, maxLength);
          labels = java.util.Arrays.copyOf(labels, maxLength);
          truncated = true;
        }
      }
    }
    Object[] values = new Object[WORK.size()];
    for (int i = 0; i < 10; i++) {
      values[i] = r.get(i);
    }
    values[10] = r.getString(splitIndex);
    if (reason == null) {
      // Primitive arrays: the row encoder copies them into Spark's array format without boxing.
      int[] idInts = new int[ids.length];
      for (int i = 0; i < ids.length; i++) {
        idInts[i] = (int) ids[i];
      }
      values[11] = idInts;
      values[12] = labels;
    }
    values[13] = ids.length;
    values[14] = truncated;
    values[15] = reason;
    values[16] = detail;
    return RowFactory.create(values);
  }

  @Override
  public Map<String, Map<String, Long>> breakdowns(Function<String, Dataset<Row>> written) {
    Map<String, Long> splits = new java.util.TreeMap<>();
    for (Row r : written.apply("data").groupBy("split").agg(count(lit(1)), expr("sum(cast(truncated as int))"),
        expr("sum(num_tokens)")).collectAsList()) {
      splits.put(r.getString(0) + "_examples", r.getLong(1));
      splits.put(r.getString(0) + "_truncated", r.isNullAt(2) ? 0 : r.getLong(2));
      splits.put(r.getString(0) + "_tokens", r.isNullAt(3) ? 0 : r.getLong(3));
    }
    return Map.of("splits", splits);
  }

  /** Writes dataset/: dataset_dict.json and, per split, Arrow stream shards, state.json, dataset_info.json. */
  @Override
  public void writeFiles(StageContext context, Function<String, Dataset<Row>> written, Path staging) throws IOException {
    Path dataset = new Path(staging, DATASET);
    FileSystem fs = context.workspace().fs(dataset);
    DatasetDictWriter.write(config, written.apply("data"), fs, new HadoopConf(context.hadoopConf()), dataset);
  }
}
