package dev.sparktune.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.TestSpark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.Type;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which list form a table's Parquet files get, and that both read back as the same rows. */
class ParquetTablesTest {
  private static final StructType TOKENS = new StructType()
      .add("id", DataTypes.StringType, false)
      .add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), true)
      .add("labels", DataTypes.createArrayType(DataTypes.LongType, false), true)
      .add("truncated", DataTypes.BooleanType, false);

  @TempDir Path dir;

  @Test
  void listsOfNumbersAreOneRepeatedFieldAndReadBackTheSame() throws IOException {
    SparkSession spark = TestSpark.get();
    Dataset<Row> table = tokens(spark);
    String path = dir.resolve("data").toString();
    ParquetTables.write(table, path);

    MessageType footer = footer(path);
    for (String column : List.of("input_ids", "labels")) {
      Type repeated = footer.getType(column).asGroupType().getType(0);
      assertTrue(repeated.isPrimitive(), column + ": " + footer);
      assertTrue(repeated.isRepetition(Type.Repetition.REPEATED), column + ": " + footer);
    }
    assertEquals(sorted(table), sorted(spark.read().parquet(path)));
    assertEquals(sorted(table), sorted(spark.read().schema(TOKENS).parquet(path)));
    assertFalse(spark.conf().getAll().contains(ParquetTables.LEGACY_FORMAT), "the session's setting is restored");
  }

  @Test
  void otherListsKeepTheStandardForm() throws IOException {
    SparkSession spark = TestSpark.get();
    StructType schema = new StructType()
        .add("id", DataTypes.StringType, false)
        .add("input_ids", DataTypes.createArrayType(DataTypes.IntegerType, false), true)
        .add("terms", DataTypes.createArrayType(DataTypes.StringType, false), true);
    Dataset<Row> table = spark.createDataFrame(List.of(
        RowFactory.create("a", new int[] {1, 2}, new String[] {"x", "y"})), schema);
    assertFalse(ParquetTables.numberListsOnly(schema));
    String path = dir.resolve("terms").toString();
    ParquetTables.write(table, path);

    assertStandardList(footer(path), "input_ids");
    assertStandardList(footer(path), "terms");
    assertEquals(sorted(table), sorted(spark.read().parquet(path)));
  }

  @Test
  void theUsersSettingHolds() throws IOException {
    SparkSession spark = TestSpark.get();
    spark.conf().set(ParquetTables.LEGACY_FORMAT, "false");
    try {
      String path = dir.resolve("standard").toString();
      ParquetTables.write(tokens(spark), path);
      assertStandardList(footer(path), "input_ids");
      assertEquals("false", spark.conf().get(ParquetTables.LEGACY_FORMAT));
    } finally {
      spark.conf().unset(ParquetTables.LEGACY_FORMAT);
    }
  }

  /**
   * The ids, locators and texts are written without a dictionary, the columns of few values with one;
   * the texts here repeat, so a dictionary would be chosen for them too if it were allowed.
   */
  @Test
  void distinctValuedColumnsHaveNoDictionary() throws IOException {
    SparkSession spark = TestSpark.get();
    List<Row> rows = new java.util.ArrayList<>();
    for (int i = 0; i < 300; i++) {
      rows.add(RowFactory.create("id" + i % 7, "s" + i % 3, "json", "f" + i % 2, "l" + i % 5, "Say hi " + i % 4,
          "ctx " + i % 3, "Hi " + i % 5, "text " + i % 2, java.util.Map.of("k", "v"),
          List.of(RowFactory.create("user", "hi " + i % 3))));
    }
    String path = dir.resolve("dictionary").toString();
    ParquetTables.write(spark.createDataFrame(rows, Schemas.RECORD).coalesce(1), path);
    java.util.Map<String, Boolean> dictionary = new java.util.TreeMap<>();
    for (org.apache.parquet.hadoop.metadata.ColumnChunkMetaData c : columnChunks(path)) {
      dictionary.put(c.getPath().toDotString(), c.getEncodings().stream()
          .anyMatch(e -> e.usesDictionary()));
    }
    for (String column : ParquetTables.NO_DICTIONARY) {
      assertEquals(false, dictionary.get(column), column + ": " + dictionary);
    }
    for (String column : List.of("source", "source_type", "uri", "messages.list.element.role")) {
      assertEquals(true, dictionary.get(column), column + ": " + dictionary);
    }
    assertEquals(300, spark.read().parquet(path).count());
  }

  @Test
  void readTakesTheSchemaFromTheFooterWithoutAJob() {
    SparkSession spark = TestSpark.get();
    Dataset<Row> records = spark.createDataFrame(List.of(RowFactory.create("id1", "s", "json", "f", "1", "Say hi",
        null, "Hi", null, java.util.Map.of("k", "v"),
        List.of(RowFactory.create("user", "hi")))), Schemas.RECORD);
    ParquetTables.write(records, dir.resolve("records").toString());
    ParquetTables.write(tokens(spark), dir.resolve("tokens").toString()); // the two-level list form
    for (String table : List.of("records", "tokens")) {
      String path = dir.resolve(table).toString();
      assertTrue(ParquetTables.footerSchema(spark, path) != null, table);
      spark.sparkContext().setJobGroup("footer-" + table, "read", false);
      Dataset<Row> read = ParquetTables.read(spark, path);
      spark.sparkContext().setJobGroup("infer-" + table, "read", false);
      Dataset<Row> inferred = spark.read().parquet(path);
      spark.sparkContext().clearJobGroup();
      assertEquals(0, spark.sparkContext().statusTracker().getJobIdsForGroup("footer-" + table).length, table);
      assertTrue(spark.sparkContext().statusTracker().getJobIdsForGroup("infer-" + table).length > 0,
          table + ": Spark's inference runs a job (else this test shows nothing)");
      assertEquals(inferred.schema(), read.schema(), table);
      assertEquals(sorted(inferred), sorted(read), table);
    }
  }

  @Test
  void aTableWithoutSparksSchemaIsReadAsSparkReadsIt() throws IOException {
    SparkSession spark = TestSpark.get();
    Path table = dir.resolve("plain");
    Files.createDirectories(table);
    Files.writeString(table.resolve("_SUCCESS"), "");
    MessageType type = org.apache.parquet.schema.MessageTypeParser.parseMessageType(
        "message m { required int32 x; optional binary name (STRING); }");
    Configuration conf = new Configuration();
    org.apache.parquet.hadoop.example.GroupWriteSupport.setSchema(type, conf);
    try (var writer = org.apache.parquet.hadoop.example.ExampleParquetWriter.builder(
        new org.apache.hadoop.fs.Path(table.resolve("part-0.parquet").toString())).withType(type).withConf(conf).build()) {
      writer.write(new org.apache.parquet.example.data.simple.SimpleGroupFactory(type).newGroup()
          .append("x", 7).append("name", "seven"));
    }
    assertEquals(null, ParquetTables.footerSchema(spark, table.toString()), "no Spark schema in this footer");
    Dataset<Row> read = ParquetTables.read(spark, table.toString());
    assertEquals(spark.read().parquet(table.toString()).schema(), read.schema());
    assertEquals(List.of("7|seven|"), sorted(read));
    assertEquals(null, ParquetTables.footerSchema(spark, dir.resolve("missing").toString()));
  }

  @Test
  void onlyTablesWhoseListsAreAllNonNullNumbers() {
    assertTrue(ParquetTables.numberListsOnly(TOKENS));
    assertFalse(ParquetTables.numberListsOnly(new StructType().add("id", DataTypes.StringType)), "no list");
    assertFalse(ParquetTables.numberListsOnly(TOKENS.add("ids", DataTypes.createArrayType(DataTypes.IntegerType, true))),
        "nullable elements");
    assertFalse(ParquetTables.numberListsOnly(TOKENS.add("price", DataTypes.createDecimalType(10, 2))), "a decimal");
    assertFalse(ParquetTables.numberListsOnly(TOKENS.add("m", DataTypes.createMapType(DataTypes.StringType,
        DataTypes.IntegerType))), "a map");
    assertFalse(ParquetTables.numberListsOnly(TOKENS.add("messages", DataTypes.createArrayType(Schemas.MESSAGE, false))),
        "a list of structs");
  }

  private static Dataset<Row> tokens(SparkSession spark) {
    return spark.createDataFrame(List.of(
        RowFactory.create("a", new int[] {1, 37, 72}, new long[] {-100, 37, 72}, false),
        RowFactory.create("b", new int[] {}, new long[] {}, false),
        RowFactory.create("c", null, null, true),
        RowFactory.create("d", new int[] {5}, new long[] {Long.MAX_VALUE}, true)), TOKENS);
  }

  private static void assertStandardList(MessageType footer, String column) {
    Type repeated = footer.getType(column).asGroupType().getType(0);
    assertFalse(repeated.isPrimitive(), column + ": " + footer);
    assertEquals("list", repeated.getName(), column + ": " + footer);
    assertEquals("element", ((GroupType) repeated).getType(0).getName(), column + ": " + footer);
  }

  private static List<org.apache.parquet.hadoop.metadata.ColumnChunkMetaData> columnChunks(String table)
      throws IOException {
    Path file;
    try (Stream<Path> files = Files.list(Path.of(table))) {
      file = files.filter(f -> f.toString().endsWith(".parquet")).findFirst().orElseThrow();
    }
    try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(
        new org.apache.hadoop.fs.Path(file.toString()), new Configuration()))) {
      return reader.getFooter().getBlocks().get(0).getColumns();
    }
  }

  private static MessageType footer(String table) throws IOException {
    Path file;
    try (Stream<Path> files = Files.list(Path.of(table))) {
      file = files.filter(f -> f.toString().endsWith(".parquet")).findFirst().orElseThrow();
    }
    try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(
        new org.apache.hadoop.fs.Path(file.toString()), new Configuration()))) {
      return reader.getFooter().getFileMetaData().getSchema();
    }
  }

  private static List<String> sorted(Dataset<Row> table) {
    return table.collectAsList().stream().map(ParquetTablesTest::text).sorted().toList();
  }

  private static String text(Row row) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < row.length(); i++) {
      Object v = row.get(i);
      out.append(v instanceof scala.collection.Seq<?> s ? s.toString() : String.valueOf(v)).append('|');
    }
    return out.toString();
  }
}
