package dev.sparktune.tokenize;

import static org.apache.spark.sql.functions.col;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktune.config.TokenizeConfig;
import dev.sparktune.core.HadoopConf;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.Partitioner;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.catalyst.InternalRow;
import scala.Tuple2;

/**
 * Writes the tokenize stage's {@code dataset/}, a Hugging Face DatasetDict on disk: dataset_dict.json
 * and, per split, Arrow IPC stream shards (examples hashed to shards by id, in id order within a
 * shard, packed when configured), state.json and dataset_info.json.
 */
final class DatasetDictWriter {
  private DatasetDictWriter() {}

  static void write(TokenizeConfig config, Dataset<Row> data, FileSystem fs, HadoopConf conf, Path dataset)
      throws IOException {
    ObjectMapper json = new ObjectMapper();
    for (String split : TokenizeStage.SPLITS) {
      Dataset<Row> rows = data.filter(col("split").equalTo(split)).select("id", "input_ids", "labels");
      long n = rows.count();
      int shards = (int) Math.max(1, (n + config.shardRecords() - 1) / config.shardRecords());
      Path dir = new Path(dataset, split);
      fs.mkdirs(dir);
      writeShards(rows, conf, dir.toString(), shards, config.packing(), config.maxLength());
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

  /** Writes one split's shards: shard i of N is written by the task of partition i. */
  private static void writeShards(Dataset<Row> rows, HadoopConf conf, String dirName, int shards, boolean packing,
      int maxLength) {
    // Spark's internal rows (UnsafeRow: id and the two arrays as bytes) are shuffled as they are;
    // external Rows would box every token id and go through Kryo field by field.
    JavaPairRDD<Tuple2<Integer, String>, InternalRow> keyed = rows.queryExecution().toRdd().toJavaRDD()
        .mapToPair(r -> {
          String id = r.getUTF8String(0).toString();
          return new Tuple2<>(new Tuple2<>(Math.floorMod(id.hashCode(), shards), id), r.copy());
        });
    keyed.repartitionAndSortWithinPartitions(new ShardPartitioner(shards), new ShardOrder())
        .foreachPartition(it -> writeShard(it, conf, dirName, TaskContext.getPartitionId(), shards, packing,
            maxLength));
  }

  static String shardName(int shard, int shards) {
    return String.format("data-%05d-of-%05d.arrow", shard, shards);
  }

  private static void writeShard(Iterator<Tuple2<Tuple2<Integer, String>, InternalRow>> rows, HadoopConf conf, String dir,
      int shard, int shards, boolean packing, int maxLength) throws IOException {
    Path file = new Path(dir, shardName(shard, shards));
    FileSystem fs = file.getFileSystem(conf.get());
    Iterator<ArrowShardWriter.Example> examples = new Iterator<>() {
      @Override
      public boolean hasNext() {
        return rows.hasNext();
      }

      @Override
      public ArrowShardWriter.Example next() {
        Tuple2<Tuple2<Integer, String>, InternalRow> t = rows.next();
        InternalRow r = t._2();
        int[] ids = r.getArray(1).toIntArray();
        long[] idArray = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
          idArray[i] = ids[i];
        }
        return new ArrowShardWriter.Example(t._1()._2(), idArray, r.getArray(2).toLongArray());
      }
    };
    try (OutputStream out = fs.create(file, true)) {
      ArrowShardWriter.write(packing ? new Packer(examples, maxLength) : examples, out, packing);
    }
  }

  private static void writeJson(FileSystem fs, Path path, String text) throws IOException {
    try (OutputStream out = fs.create(path, true)) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    }
  }

  /** Shard i of N is partition i. */
  static final class ShardPartitioner extends Partitioner {
    private static final long serialVersionUID = 1L;
    private final int shards;

    ShardPartitioner(int shards) {
      this.shards = shards;
    }

    @Override
    public int numPartitions() {
      return shards;
    }

    @SuppressWarnings("unchecked")
    @Override
    public int getPartition(Object key) {
      return ((Tuple2<Integer, String>) key)._1();
    }
  }

  /** Within a shard, examples are in id order, so the shard bytes are the same every run. */
  static final class ShardOrder implements Comparator<Tuple2<Integer, String>>, java.io.Serializable {
    private static final long serialVersionUID = 1L;

    @Override
    public int compare(Tuple2<Integer, String> a, Tuple2<Integer, String> b) {
      int c = Integer.compare(a._1(), b._1());
      return c != 0 ? c : a._2().compareTo(b._2());
    }
  }
}
