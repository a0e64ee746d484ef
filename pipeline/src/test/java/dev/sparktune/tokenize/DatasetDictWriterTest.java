package dev.sparktune.tokenize;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.spark_partition_id;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.sparktune.TestSpark;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/** The shard-to-task mapping of the Arrow shards, against Spark's own hash partitioning. */
class DatasetDictWriterTest {
  @Test
  void eachShardsKeyLandsInThePartitionOfTheSameNumber() {
    for (int shards : new int[] {1, 4, 7, 20}) {
      int[] keys = DatasetDictWriter.partitionKeys(shards);
      List<Row> rows = new ArrayList<>();
      for (int s = 0; s < shards; s++) {
        rows.add(RowFactory.create(s, keys[s]));
      }
      StructType schema = new StructType().add("shard", DataTypes.IntegerType).add("key", DataTypes.IntegerType);
      Dataset<Row> placed = TestSpark.get().createDataFrame(rows, schema).repartition(shards, col("key"))
          .select(col("shard"), spark_partition_id().as("p"));
      for (Row r : placed.collectAsList()) {
        assertEquals(r.getInt(0), r.getInt(1), "shard " + r.getInt(0) + " of " + shards);
      }
    }
  }
}
