package dev.sparktune.tokenize;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.when;

import dev.sparktune.config.TemplateName;
import dev.sparktune.config.TokenizeConfig;
import dev.sparktune.core.HadoopConf;
import dev.sparktune.core.InputFile;
import dev.sparktune.core.Schemas;
import dev.sparktune.core.Sessions;
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
  private ChatTemplate chatTemplate;
  private PromptSplit promptSplit;
  /**
   * The examples of this run's {@link #apply}, in the stage's cache until its release: dataset/ is
   * written from them rather than from the data table read back from Parquet (the same rows; the
   * cache's arrays are copied out as they are, where Parquet's reader reassembles them value by value).
   */
  private Dataset<Row> examples;
  /**
   * Examples per split in the data table written, from {@link #breakdowns} (which the runner calls
   * first), so that dataset/ is sized without counting the splits again; null when not known.
   */
  private Map<String, Long> splitCounts;

  /** @param upstream the stage whose records are tokenized (cluster, or clean when clustering is off) */
  public TokenizeStage(TokenizeConfig config, String upstream) {
    super(NAME, 2, config, upstream); // 2: chat templates, dropped_messages
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
    com.fasterxml.jackson.databind.JsonNode tokenizerTree = new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(tokenizerBytes);
    eosId = config.eosId() != null ? config.eosId() : SpecialTokens.eosId(fs, tokenizer, tokenizerTree);
    promptSplit = PromptSplit.of(tokenizerTree); // read once here, not again in every task
    for (String beside : List.of("tokenizer_config.json", "chat_template.jinja")) {
      Path p = new Path(tokenizer.getParent(), beside);
      if (fs.exists(p)) { // the chat template and its special tokens are inputs too
        var bs = fs.getFileStatus(p);
        files.add(new InputFile(p.toString(), bs.getLen(), bs.getModificationTime()));
      }
    }
    chatTemplate = ChatTemplate.resolve(fs, tokenizer, config.template(), SpecialTokens.tokenOf(tokenizerTree, eosId));
    chatTemplate = chatTemplate == null ? null : chatTemplate.checked();
    return files;
  }

  static final StructType WORK = Schemas.RECORD
      .add("split", DataTypes.StringType, false)
      .add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), true)
      .add("labels", DataTypes.createArrayType(DataTypes.LongType, false), true)
      .add("num_tokens", DataTypes.IntegerType, false)
      .add("truncated", DataTypes.BooleanType, false)
      .add("dropped_messages", DataTypes.IntegerType, false)
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
    boolean model = config.template().equals(TemplateName.MODEL.key());
    RecordEncoder.Settings settings = new RecordEncoder.Settings(model ? null : PromptTemplate.of(config.template()),
        chatTemplate, model, config.maxLength(), config.overflow() == TokenizeConfig.Overflow.DROP,
        config.minResponseTokens(), config.turnOverflow() == TokenizeConfig.TurnOverflow.DROP_OLDEST);
    MapPartitionsFunction<Row, Row> tokenize = tokenizer(bytes, eosId, config.trainOnInputs(), promptSplit, settings,
        withSplit.schema().fieldIndex("split"));
    Dataset<Row> tokenized = persistInBatches(
        withSplit.mapPartitions(tokenize, ExpressionEncoder.apply(RowEncoder.encoderFor(WORK))), config.maxLength());
    Dataset<Row> kept = tokenized.filter(col("reason").isNull());
    Dataset<Row> data = kept.select(col("id"), col("source"), col("split"),
        col("input_ids"), col("labels"), col("num_tokens"), col("truncated"), col("dropped_messages"));
    Dataset<Row> dropped = tokenized.filter(col("reason").isNotNull())
        .select(Schemas.droppedColumns(col("reason"), col("detail")));
    int width = Math.max(1, config.maxLength() / 16);
    Dataset<Row> stats = kept
        .withColumn("bucket_start", expr("cast(floor(num_tokens / " + width + ") * " + width + " as int)"))
        .groupBy("split", "bucket_start").agg(count(lit(1)).as("examples"),
            expr("sum(cast(truncated as int))").as("truncated"))
        .withColumn("bucket_end", expr("bucket_start + " + width))
        .select("split", "bucket_start", "bucket_end", "examples", "truncated")
        // A few dozen rows: sorted in one task, where orderBy would first sample them for its range
        // partitioning (a job of its own).
        .coalesce(1).sortWithinPartitions("split", "bucket_start");
    examples = kept;
    splitCounts = null;
    return new StageOutput(data, null, dropped, Map.of(STATS, stats), in.select("source"), () -> {
      examples = null;
      splitCounts = null;
      tokenized.unpersist();
    });
  }

  /**
   * {@code rows} persisted in batches of {@link #cacheBatchRows} rows for {@code maxLength}. Spark takes
   * a cache's batch size from the session when the cache is declared, so the session's setting is
   * changed for the {@code persist} call alone ({@link Sessions#withSetting}).
   */
  static Dataset<Row> persistInBatches(Dataset<Row> rows, int maxLength) {
    int current = Integer.parseInt(rows.sparkSession().conf().get(Sessions.CACHE_BATCH_SIZE));
    return Sessions.withSetting(rows.sparkSession(), Sessions.CACHE_BATCH_SIZE,
        String.valueOf(cacheBatchRows(maxLength, current)), () -> rows.persist(StorageLevel.MEMORY_AND_DISK()));
  }

  /**
   * Rows per batch of the stage's cache: at most {@code current}, and few enough that a batch of
   * examples of {@code maxLength} tokens (input ids and labels, 12 bytes a token) stays within 8 MB
   * (Spark counts a cached partition's memory once every 16 batches; see Sessions.CACHE_BATCH_ROWS);
   * at least 64. Max length 512: 1,000 rows (the session's default); 4,096: 170.
   */
  static int cacheBatchRows(int maxLength, int current) {
    long bytesPerRow = 12L * Math.max(1, maxLength);
    return (int) Math.max(64, Math.min(current, (8L << 20) / bytesPerRow));
  }

  /** Built in a static method so the task closure does not capture the stage. */
  private static MapPartitionsFunction<Row, Row> tokenizer(Broadcast<byte[]> bytes, long eos, boolean trainOnInputs,
      PromptSplit promptSplit, RecordEncoder.Settings settings, int splitIndex) {
    return rows -> {
      java.nio.file.Path local = Files.createTempFile("sparktune-tokenizer", ".json");
      Files.write(local, bytes.value());
      Tokenization t = new Tokenization(local, eos, trainOnInputs, promptSplit);
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
      RecordEncoder encoder = new RecordEncoder(t, settings);
      return new Iterator<Row>() {
        private final java.util.ArrayDeque<Row> ready = new java.util.ArrayDeque<>();

        @Override
        public boolean hasNext() {
          if (ready.isEmpty() && rows.hasNext()) {
            List<Row> batch = new ArrayList<>();
            long chars = 0;
            while (batch.size() < BATCH && chars < BATCH_CHARS && rows.hasNext()) {
              Row r = rows.next();
              batch.add(r);
              chars += chars(r);
            }
            ready.addAll(encoder.encode(batch, splitIndex));
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

  /**
   * Rows encoded per tokenizer call, at most: the Rust library spreads a batch over its threads, and
   * 1,024 rows kept them busier than 256 (`--only tokenize` on the 200k corpus, medians of eight
   * alternated runs: 35.6 against 37.0 s).
   */
  static final int BATCH = 1024;
  /** Characters of text per tokenizer call, about: a batch of long documents stays small in memory. */
  static final long BATCH_CHARS = 1L << 20;

  /** The characters a record gives the tokenizer: its fields and its messages' contents. */
  private static long chars(Row r) {
    long n = 0;
    for (int f = 5; f <= 8; f++) { // instruction, input, output, text
      n += r.isNullAt(f) ? 0 : r.getString(f).length();
    }
    List<dev.sparktune.core.ChatMessage> messages = Schemas.messagesOf(r, Schemas.MESSAGES);
    for (dev.sparktune.core.ChatMessage m : messages == null ? List.<dev.sparktune.core.ChatMessage>of() : messages) {
      n += m.content() == null ? 0 : m.content().length();
    }
    return n;
  }

  @Override
  public Map<String, Map<String, Long>> breakdowns(Function<String, Dataset<Row>> written) {
    // One query for both maps (per split, then summed over the splits).
    Map<String, Long> splits = new java.util.TreeMap<>();
    Map<String, Long> examplesBySplit = new java.util.TreeMap<>();
    long withDroppedTurns = 0;
    long droppedMessages = 0;
    for (Row r : written.apply("data").groupBy("split").agg(count(lit(1)), expr("sum(cast(truncated as int))"),
        expr("sum(num_tokens)"), expr("count_if(dropped_messages > 0)"), expr("sum(dropped_messages)"))
        .collectAsList()) {
      splits.put(r.getString(0) + "_examples", r.getLong(1));
      splits.put(r.getString(0) + "_truncated", r.isNullAt(2) ? 0 : r.getLong(2));
      splits.put(r.getString(0) + "_tokens", r.isNullAt(3) ? 0 : r.getLong(3));
      examplesBySplit.put(r.getString(0), r.getLong(1));
      withDroppedTurns += r.getLong(4);
      droppedMessages += r.isNullAt(5) ? 0 : r.getLong(5);
    }
    splitCounts = examplesBySplit;
    Map<String, Long> conversations = new java.util.TreeMap<>();
    conversations.put("examples_with_dropped_turns", withDroppedTurns);
    conversations.put("dropped_messages", droppedMessages);
    return Map.of("splits", splits, "conversations", conversations);
  }

  /**
   * Writes dataset/: dataset_dict.json and, per split, Arrow stream shards, state.json, dataset_info.json;
   * from the cached examples when this run applied the stage, else from the data table written.
   */
  @Override
  public void writeFiles(StageContext context, Function<String, Dataset<Row>> written, Path staging) throws IOException {
    Path dataset = new Path(staging, DATASET);
    FileSystem fs = context.workspace().fs(dataset);
    Dataset<Row> rows = examples != null ? examples : written.apply("data");
    DatasetDictWriter.write(config, rows, splitCounts, fs, new HadoopConf(context.hadoopConf()), dataset);
  }
}
