package dev.sparktune.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparktune.TestSpark;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

/** Reductions in partition order, whatever order the tasks end in. */
class InOrderTest {
  private static JavaSparkContext sc() {
    return JavaSparkContext.fromSparkContext(TestSpark.get().sparkContext());
  }

  /**
   * Joining strings is not commutative: the result shows the order of the merges. The first parts end
   * last (they sleep), so merging as tasks end would put them at the back.
   */
  @Test
  void mergesInPartitionThenElementOrder() {
    List<String> items = new ArrayList<>();
    for (int i = 0; i < 23; i++) {
      items.add("e" + i);
    }
    JavaRDD<String> rdd = sc().parallelize(items, 7).mapPartitionsWithIndex((part, it) -> {
      Thread.sleep(part < 2 ? 400 : 0);
      return it;
    }, true);
    String expected = String.join(",", items);
    for (int fanout : new int[] {2, 3, 8}) { // 2 and 3: shuffled levels; 8: all seven parts on the driver
      assertEquals(expected, InOrder.reduce(rdd, (a, b) -> a + "," + b, fanout), "fanout " + fanout);
    }
  }

  @Test
  void emptyPartsAreSkippedAndNothingGivesNull() {
    JavaRDD<String> some = sc().parallelize(List.of("a", "b"), 5); // three parts hold nothing
    assertEquals("ab", InOrder.reduce(some, String::concat, 2));
    assertNull(InOrder.reduce(sc().parallelize(List.<String>of(), 3), String::concat, 2));
    assertThrows(IllegalArgumentException.class, () -> InOrder.reduce(some, String::concat, 1));
  }

  /** The k-means over five parts gives the same centers and cost to the last bit, fit after fit. */
  @Test
  void kMeansOverManyPartsIsTheSameEveryTime() {
    List<Row> rows = SparseKMeansTest.groups(80, 21);
    JavaRDD<SparseKMeans.Block> blocks = SparseKMeansTest.blocks(rows, 5);
    SparseKMeans.Model first = SparseKMeans.fit(blocks, rows.size(), 1000, 7, 10, 3, true);
    for (int run = 0; run < 3; run++) {
      SparseKMeans.Model again = SparseKMeans.fit(blocks, rows.size(), 1000, 7, 10, 3, true);
      assertEquals(Double.doubleToLongBits(first.cost()), Double.doubleToLongBits(again.cost()));
      for (int c = 0; c < first.centers().length; c++) {
        assertArrayEquals(first.centers()[c], again.centers()[c], 0f);
      }
    }
  }
}
