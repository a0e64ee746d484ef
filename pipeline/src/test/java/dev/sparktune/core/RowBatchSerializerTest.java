package dev.sparktune.core;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.TestSpark;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.columnar.CachedBatch;
import org.apache.spark.sql.execution.columnar.InMemoryRelation;
import org.apache.spark.sql.internal.SQLConf;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.unsafe.types.UTF8String;
import org.junit.jupiter.api.Test;
import scala.jdk.javaapi.CollectionConverters;

/** Cached tables in RowBatchSerializer's format read back as the rows that went in. */
class RowBatchSerializerTest {
  private static final StructType EVERY_KIND = new StructType()
      .add("id", DataTypes.StringType, false)
      .add("text", DataTypes.StringType, true)
      .add("n", DataTypes.IntegerType, true)
      .add("big", DataTypes.LongType, false)
      .add("x", DataTypes.DoubleType, true)
      .add("flag", DataTypes.BooleanType, true)
      .add("raw", DataTypes.BinaryType, true)
      .add("ids", DataTypes.createArrayType(DataTypes.IntegerType, false), true)
      .add("words", DataTypes.createArrayType(DataTypes.StringType, true), true)
      .add("counts", DataTypes.createMapType(DataTypes.StringType, DataTypes.IntegerType), true)
      .add("turn", new StructType().add("role", DataTypes.StringType).add("n", DataTypes.IntegerType), true)
      .add("v", SQLDataTypes.VectorType(), true);

  private static List<Row> everyKind() {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 2_500; i++) {
      boolean nulls = i % 7 == 3;
      rows.add(RowFactory.create(String.format("r%05d", i),
          nulls ? null : (i % 5 == 0 ? "" : "tëxt ✓ " + "x".repeat(i % 40)),
          nulls ? null : i - 1_000,
          (long) i << 33,
          nulls ? null : (i % 11 == 0 ? Double.NaN : i / 3.0),
          nulls ? null : i % 2 == 0,
          nulls ? null : new byte[] {(byte) i, 0, (byte) -i},
          nulls ? null : List.of(i, -100, i * 7).toArray(new Integer[0]),
          nulls ? null : Arrays.asList("a", null, "w" + i),
          nulls ? null : Map.of("k" + i % 3, i),
          nulls ? null : RowFactory.create(i % 2 == 0 ? "user" : null, i),
          nulls ? null : Vectors.sparse(16, new int[] {i % 16}, new double[] {i + 0.5})));
    }
    return rows;
  }

  private static List<Row> sorted(Dataset<Row> rows) {
    return rows.orderBy("id").collectAsList();
  }

  @Test
  void aPersistedTableOfEveryKindOfColumnReadsBackTheSameRows() {
    SparkSession spark = TestSpark.get();
    Dataset<Row> plain = spark.createDataFrame(everyKind(), EVERY_KIND).repartition(3);
    Dataset<Row> cached = plain.persist(StorageLevel.MEMORY_AND_DISK());
    try {
      assertEquals(2_500, cached.count());
      assertInstanceOf(RowBatchSerializer.class, serializerOf(cached), "the tests' session caches in this format");
      assertEquals(sorted(plain), sorted(cached));
      // Some columns, in another order, with a filter: the scan hands out only those columns.
      Dataset<Row> some = cached.filter(col("n").gt(0)).select("words", "id", "v");
      Dataset<Row> expected = plain.filter(col("n").gt(0)).select("words", "id", "v");
      assertEquals(sorted(expected), sorted(some));
      assertTrue(some.count() > 1_000);
    } finally {
      cached.unpersist(true);
    }
  }

  @Test
  void aTableCachedOnDiskReadsBackTheSameRows() {
    SparkSession spark = TestSpark.get();
    Dataset<Row> plain = spark.createDataFrame(everyKind(), EVERY_KIND).repartition(2);
    Dataset<Row> cached = plain.persist(StorageLevel.DISK_ONLY()); // the batches through the serializer (Kryo)
    try {
      assertEquals(sorted(plain), sorted(cached));
      assertEquals(sorted(plain.select("id", "counts")), sorted(cached.select("id", "counts")));
    } finally {
      cached.unpersist(true);
    }
  }

  @Test
  void batchesEndAtTheBatchSizeOrAtAboutFourMegabytes() {
    SparkSession spark = TestSpark.get();
    SQLConf conf = new SQLConf();
    conf.setConfString(Sessions.CACHE_BATCH_SIZE, "3");
    Dataset<Row> ten = spark.range(10).selectExpr("cast(id as int) as n").coalesce(1);
    List<CachedBatch> batches = batches(ten, conf);
    assertEquals(List.of(3, 3, 3, 1), batches.stream().map(CachedBatch::numRows).toList());

    conf.setConfString(Sessions.CACHE_BATCH_SIZE, "1000");
    Dataset<Row> large = spark.range(9).selectExpr("repeat('x', 1500000) as s").coalesce(1); // 1.5 MB a row
    List<Integer> rows = batches(large, conf).stream().map(CachedBatch::numRows).toList();
    assertEquals(List.of(3, 3, 3), rows); // 3 rows pass 4 MB: the batch ends after the row that does
    for (CachedBatch b : batches(large, conf)) {
      assertTrue(b.sizeInBytes() >= 3 * 1_500_000L && b.sizeInBytes() < 3 * 1_500_100L, "size " + b.sizeInBytes());
    }
  }

  @Test
  void rowsThatAreNotBinaryAreMadeSoAndReadBack() {
    SparkSession spark = TestSpark.get();
    StructType schema = new StructType().add("s", DataTypes.StringType).add("n", DataTypes.IntegerType);
    List<InternalRow> generic = List.of(new GenericInternalRow(new Object[] {UTF8String.fromString("ä"), 1}),
        new GenericInternalRow(new Object[] {null, 2}), new GenericInternalRow(new Object[] {UTF8String.fromString(""), null}));
    JavaRDD<InternalRow> input = JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(generic, 2);
    scala.collection.immutable.Seq<Attribute> attributes = attributes(spark.createDataFrame(List.of(), schema));
    RowBatchSerializer serializer = new RowBatchSerializer();
    RDD<CachedBatch> batches = serializer.convertInternalRowToCachedBatch(input.rdd(), attributes,
        StorageLevel.MEMORY_ONLY(), new SQLConf());
    List<String> values = serializer.convertCachedBatchToInternalRow(batches, attributes, attributes, new SQLConf())
        .toJavaRDD().map(r -> (r.isNullAt(0) ? "null" : r.getUTF8String(0).toString()) + "|"
            + (r.isNullAt(1) ? "null" : String.valueOf(r.getInt(1)))).collect();
    assertEquals(List.of("ä|1", "null|2", "|null"), values);
  }

  private static List<CachedBatch> batches(Dataset<Row> rows, SQLConf conf) {
    return new RowBatchSerializer().convertInternalRowToCachedBatch(rows.queryExecution().toRdd(), attributes(rows),
        StorageLevel.MEMORY_ONLY(), conf).toJavaRDD().collect();
  }

  private static scala.collection.immutable.Seq<Attribute> attributes(Dataset<Row> rows) {
    return rows.queryExecution().analyzed().output();
  }

  private static Object serializerOf(Dataset<Row> cached) {
    LogicalPlan plan = cached.queryExecution().withCachedData();
    for (LogicalPlan leaf : CollectionConverters.asJava(plan.collectLeaves())) {
      if (leaf instanceof InMemoryRelation relation) {
        return relation.cacheBuilder().serializer();
      }
    }
    throw new AssertionError("no cached relation in " + plan);
  }
}
