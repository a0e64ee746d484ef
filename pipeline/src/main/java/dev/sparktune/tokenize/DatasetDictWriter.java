package dev.sparktune.tokenize;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.udf;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktune.config.TokenizeConfig;
import dev.sparktune.core.HadoopConf;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.DataTypes;

/**
 * Writes the tokenize stage's {@code dataset/}, a Hugging Face DatasetDict on disk: dataset_dict.json
 * and, per split, Arrow IPC stream shards (examples hashed to shards by id, in id order within a
 * shard, packed when configured), state.json and dataset_info.json.
 */
final class DatasetDictWriter {
  private DatasetDictWriter() {}

  /**
   * @param counts examples per split in {@code data} (a split with none may be missing), or null to
   *     count them here
   */
  static void write(TokenizeConfig config, Dataset<Row> data, Map<String, Long> counts, FileSystem fs,
      HadoopConf conf, Path dataset) throws IOException {
    ObjectMapper json = new ObjectMapper();
    Map<String, Long> examples = counts != null ? counts : countSplits(data);
    for (String split : TokenizeStage.SPLITS) {
      Dataset<Row> rows = data.filter(col("split").equalTo(split)).select("id", "input_ids", "labels");
      long n = examples.getOrDefault(split, 0L);
      int shards = (int) Math.max(1, (n + config.shardRecords() - 1) / config.shardRecords());
      Path dir = new Path(dataset, split);
      fs.mkdirs(dir);
      writeShards(rows, fs, conf, dir.toString(), shards, config.packing(), config.maxLength());
      List<Map<String, String>> files = new ArrayList<>();
      for (int s = 0; s < shards; s++) {
        files.add(Map.of("filename", shardName(s, shards)));
      }
      Map<String, Object> state = new java.util.LinkedHashMap<>();
      state.put("_data_files", files);
      state.put("_fingerprint", Long.toHexString(java.util.Objects.hash(split, n, config.seed(), config.template())));
      state.put("_format_columns", null);
      state.put("_format_kwargs", Map.of());
      state.put("_format_type", null);
      state.put("_output_all_columns", false);
      state.put("_split", split);
      writeJson(fs, new Path(dir, "state.json"), json.writerWithDefaultPrettyPrinter().writeValueAsString(state));
      writeJson(fs, new Path(dir, "dataset_info.json"), "{\n  \"citation\": \"\",\n  \"description\": \"\",\n"
          + "  \"features\": " + (config.packing() ? ArrowShardWriter.PACKED_FEATURES_JSON : ArrowShardWriter.FEATURES_JSON)
          + ",\n  \"homepage\": \"\",\n  \"license\": \"\"\n}\n");
    }
    writeJson(fs, new Path(dataset, "dataset_dict.json"), "{\"splits\": [\"train\", \"validation\"]}");
  }

  /** Examples per split, in one query. */
  private static Map<String, Long> countSplits(Dataset<Row> data) {
    Map<String, Long> counts = new java.util.TreeMap<>();
    for (Row r : data.groupBy("split").count().collectAsList()) {
      counts.put(r.getString(0), r.getLong(1));
    }
    return counts;
  }

  /**
   * Writes one split's shards: an example goes to shard {@code floorMod(id.hashCode(), shards)}.
   * Spark SQL shuffles the rows by shard and sorts them by (shard, id) as bytes (its own row
   * serializer and sorter; ids are ASCII hex, where that order is String order); a task writes each
   * shard its partition holds, and the driver then writes the shards no row went to, empty.
   */
  private static void writeShards(Dataset<Row> rows, FileSystem fs, HadoopConf conf, String dirName, int shards,
      boolean packing, int maxLength) throws IOException {
    org.apache.spark.sql.api.java.UDF1<String, Integer> shardOf = id -> Math.floorMod(id.hashCode(), shards);
    int[] keys = partitionKeys(shards);
    org.apache.spark.sql.api.java.UDF1<Integer, Integer> keyOf = shard -> keys[shard];
    // Labels fit in int32 (token ids and -100): half the bytes through the shuffle; widened again as
    // the shard is written.
    Dataset<Row> sorted = rows.select(udf(shardOf, DataTypes.IntegerType).apply(col("id")).as("_shard"), col("id"),
            col("input_ids"), col("labels").cast("array<int>").as("labels"))
        .withColumn("_key", udf(keyOf, DataTypes.IntegerType).apply(col("_shard")))
        .repartition(shards, col("_key")).sortWithinPartitions("_shard", "id").drop("_key");
    sorted.queryExecution().toRdd().toJavaRDD()
        .foreachPartition(it -> writePartition(it, conf, dirName, shards, packing, maxLength));
    for (int s = 0; s < shards; s++) {
      Path file = new Path(dirName, shardName(s, shards));
      if (!fs.exists(file)) {
        try (OutputStream out = fs.create(file, true)) {
          ArrowShardWriter.write(java.util.Collections.emptyIterator(), out, packing);
        }
      }
    }
  }

  /**
   * For each shard, an int that Spark's hash partitioning (Murmur3 with seed 42, then a positive
   * modulo) sends to the partition of the same number, so that each task writes one shard: hashing
   * the shard numbers themselves sent shards 0, 1 and 3 of 4 to one task. Only the balance depends
   * on this; a task writes whatever shards its partition holds.
   */
  static int[] partitionKeys(int shards) {
    int[] keys = new int[shards];
    boolean[] taken = new boolean[shards];
    int left = shards;
    for (int v = 0; left > 0; v++) {
      int p = Math.floorMod(org.apache.spark.unsafe.hash.Murmur3_x86_32.hashInt(v, 42), shards);
      if (!taken[p]) {
        taken[p] = true;
        keys[p] = v;
        left--;
      }
    }
    return keys;
  }

  static String shardName(int shard, int shards) {
    return String.format("data-%05d-of-%05d.arrow", shard, shards);
  }

  /** Writes the shards of one partition, whose rows come sorted by (shard, id). */
  private static void writePartition(Iterator<InternalRow> rows, HadoopConf conf, String dir, int shards,
      boolean packing, int maxLength) throws IOException {
    ShardRows shard = new ShardRows(rows);
    while (shard.nextShard()) {
      Path file = new Path(dir, shardName(shard.current, shards));
      FileSystem fs = file.getFileSystem(conf.get());
      try (OutputStream out = fs.create(file, true)) {
        ArrowShardWriter.write(packing ? new Packer(shard, maxLength) : shard, out, packing);
      }
    }
  }

  /**
   * The examples of one shard at a time, from rows sorted by shard. A row is turned into an example
   * as soon as it is read: the sorter hands out the same row object again for the next one.
   */
  private static final class ShardRows implements Iterator<ArrowShardWriter.Example> {
    private final Iterator<InternalRow> rows;
    private int current = -1;
    private int aheadShard = -1;
    private ArrowShardWriter.Example ahead;

    ShardRows(Iterator<InternalRow> rows) {
      this.rows = rows;
      advance();
    }

    private void advance() {
      if (!rows.hasNext()) {
        ahead = null;
        return;
      }
      InternalRow r = rows.next();
      aheadShard = r.getInt(0);
      ahead = new ArrowShardWriter.Example(r.getUTF8String(1).toString(), r.getArray(2).toIntArray(),
          r.getArray(3).toIntArray());
    }

    /** Moves to the next shard present; false when the rows are done. */
    boolean nextShard() {
      while (ahead != null && aheadShard == current) {
        advance(); // rows of the current shard left unread (none when the writer read them all)
      }
      if (ahead == null) {
        return false;
      }
      current = aheadShard;
      return true;
    }

    @Override
    public boolean hasNext() {
      return ahead != null && aheadShard == current;
    }

    @Override
    public ArrowShardWriter.Example next() {
      if (!hasNext()) {
        throw new java.util.NoSuchElementException();
      }
      ArrowShardWriter.Example e = ahead;
      advance();
      return e;
    }
  }

  private static void writeJson(FileSystem fs, Path path, String text) throws IOException {
    try (OutputStream out = fs.create(path, true)) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    }
  }
}
