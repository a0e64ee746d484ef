package dev.sparktune.cluster;

import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.row_number;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.TestSpark;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/** The one-pass clusters table against the Spark SQL that defines it, on records full of ties. */
class ClusterTableTest {
  /** Terms whose UTF-8 order differs from Java's String order (U+E000 against a surrogate pair). */
  private static final String[] VOCABULARY = {"alpha", "beta", "gamma", "delta", "é", "\uE000x", "\uD834\uDD1Ex",
      "zeta", "eta", "theta"};

  @Test
  void equalsTheSqlDefinition() {
    Random random = new Random(7);
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      int cluster = random.nextInt(8) - 1; // -1 as the records without terms
      List<String> terms = new ArrayList<>();
      int n = cluster == 5 ? 0 : random.nextInt(6); // cluster 5: no terms at all
      for (int t = 0; t < n; t++) {
        terms.add(VOCABULARY[random.nextInt(VOCABULARY.length)]); // repeats: document frequency counts once
      }
      Double distance = cluster == -1 ? null : random.nextInt(4) == 0 ? (random.nextBoolean() ? -0.0 : 0.0)
          : Math.round(random.nextDouble() * 5) / 10.0; // ties on distance, then id decides
      boolean kept = cluster != 3 && random.nextInt(3) > 0; // cluster 3: nothing kept
      rows.add(RowFactory.create(cluster, terms, distance, String.format("id-%03d", random.nextInt(1000)), kept));
    }
    for (int i = 0; i < 4; i++) { // cluster 7: two terms tied on frequency, whose order differs in UTF-16
      rows.add(RowFactory.create(7, List.of("\uD834\uDD1Ex", "\uE000x"), 0.5, "tie-" + i, true));
    }
    StructType schema = new StructType().add("cluster_id", DataTypes.IntegerType)
        .add("_terms", DataTypes.createArrayType(DataTypes.StringType, false))
        .add("centroid_distance", DataTypes.DoubleType).add("id", DataTypes.StringType)
        .add("_kept", DataTypes.BooleanType, false);
    Dataset<Row> records = TestSpark.get().createDataFrame(rows, schema);
    for (int topTerms : new int[] {1, 3, 10}) {
      Dataset<Row> fast = ClusterTable.of(records, topTerms, 3);
      Dataset<Row> reference = reference(records, topTerms);
      assertEquals(reference.schema(), fast.schema());
      List<Row> expected = reference.collectAsList();
      List<Row> actual = fast.collectAsList();
      assertEquals(9, expected.size());
      assertEquals(expected, actual, "top " + topTerms);
    }
    assertTrue(dev.sparktune.core.SqlOrder.strings("\uE000x", "\uD834\uDD1Ex") < 0, "U+E000 before U+1D11E");
  }

  /** The clusters table as the stage computed it in Spark SQL before. */
  private static Dataset<Row> reference(Dataset<Row> all, int topTerms) {
    Dataset<Row> kept = all.filter(col("_kept"));
    Dataset<Row> sizes = all.groupBy("cluster_id").agg(count(lit(1)).as("size_before"));
    Dataset<Row> after = kept.groupBy("cluster_id").agg(count(lit(1)).as("size_after"),
        expr("transform(slice(sort_array(collect_list(struct(coalesce(centroid_distance, 0d) AS d, id AS id))), 1, 3),"
            + " x -> x.id)").as("example_ids"));
    Dataset<Row> terms = all.select(col("cluster_id"), expr("explode(array_distinct(_terms))").as("term"))
        .groupBy("cluster_id", "term").agg(count(lit(1)).as("df"))
        .withColumn("_r", row_number().over(Window.partitionBy("cluster_id").orderBy(col("df").desc(), col("term"))))
        .filter(col("_r").leq(topTerms))
        .groupBy("cluster_id").agg(expr("transform(sort_array(collect_list(struct(_r, term))), x -> x.term)")
            .as("top_terms"));
    String[] on = {"cluster_id"};
    return sizes.join(after, on, "left").join(terms, on, "left")
        .select(col("cluster_id"), col("size_before"), coalesce(col("size_after"), lit(0L)).as("size_after"),
            coalesce(col("top_terms"), expr("cast(array() as array<string>)")).as("top_terms"),
            coalesce(col("example_ids"), expr("cast(array() as array<string>)")).as("example_ids"))
        .orderBy("cluster_id");
  }
}
