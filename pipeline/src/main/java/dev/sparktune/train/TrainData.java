package dev.sparktune.train;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Reads one split of the tokenize stage's Hugging Face dataset (Arrow IPC stream shards
 * {@code data-*.arrow}, any Hadoop file system) into memory: token ids, labels and, for packed
 * datasets, position ids.
 */
public final class TrainData {
  private TrainData() {}

  /** One training row; {@code positionIds} is null unless the dataset is packed. */
  public record Example(long[] inputIds, long[] labels, long[] positionIds) {
    public int length() {
      return inputIds.length;
    }
  }

  /** The examples of {@code <dataset>/<split>/data-*.arrow}, in shard order. */
  public static List<Example> read(Path datasetDir, String split, Configuration conf) throws IOException {
    Path dir = new Path(datasetDir, split);
    FileSystem fs = dir.getFileSystem(conf);
    if (!fs.exists(dir)) {
      throw new IOException("no '" + split + "' split at " + dir + " (run the tokenize stage first)");
    }
    FileStatus[] shards = fs.globStatus(new Path(dir, "data-*.arrow"));
    if (shards == null || shards.length == 0) {
      throw new IOException("no data-*.arrow shards in " + dir);
    }
    Arrays.sort(shards, (a, b) -> a.getPath().getName().compareTo(b.getPath().getName()));
    List<Example> out = new ArrayList<>();
    try (BufferAllocator allocator = new RootAllocator()) {
      for (FileStatus shard : shards) {
        try (InputStream in = fs.open(shard.getPath());
            ArrowStreamReader reader = new ArrowStreamReader(in, allocator)) {
          VectorSchemaRoot root = reader.getVectorSchemaRoot();
          for (String column : List.of("input_ids", "labels")) {
            if (root.getVector(column) == null) {
              throw new IOException(shard.getPath() + " has no '" + column + "' column");
            }
          }
          while (reader.loadNextBatch()) {
            ListVector ids = (ListVector) root.getVector("input_ids");
            ListVector labels = (ListVector) root.getVector("labels");
            ListVector positions = (ListVector) root.getVector("position_ids");
            for (int row = 0; row < root.getRowCount(); row++) {
              long[] i = values(ids, row);
              long[] l = values(labels, row);
              if (i.length != l.length || i.length < 2) {
                throw new IOException(shard.getPath() + " row " + row + ": input_ids (" + i.length
                    + ") and labels (" + l.length + ") must have the same length ≥ 2");
              }
              out.add(new Example(i, l, positions == null ? null : values(positions, row)));
            }
          }
        } catch (IOException e) {
          throw new IOException("cannot read " + shard.getPath() + ": " + e.getMessage(), e);
        }
      }
    }
    return out;
  }

  private static long[] values(ListVector list, int row) {
    int start = list.getElementStartIndex(row);
    int end = list.getElementEndIndex(row);
    FieldVector data = list.getDataVector();
    long[] out = new long[end - start];
    for (int k = start; k < end; k++) {
      out[k - start] = data instanceof BigIntVector b ? b.get(k) : data instanceof IntVector iv ? iv.get(k)
          : ((Number) data.getObject(k)).longValue();
    }
    return out;
  }
}
