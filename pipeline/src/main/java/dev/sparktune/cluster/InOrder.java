package dev.sparktune.cluster;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.Function2;
import scala.Tuple2;

/**
 * A reduction in partition order. Spark's {@code reduce} and {@code treeReduce} merge the parts'
 * results in the order their tasks end, so a floating-point sum over more than two parts can differ in
 * its last bits from run to run (and so can a k-means that sums centers that way). Here the parts'
 * results are merged left to right: each part's elements in order, then up to {@code fanout}
 * neighbouring parts at a time (on the driver when there are at most {@code fanout}, else by a
 * shuffle per level of the tree, each group sorted by part before it is merged).
 */
final class InOrder {
  private InOrder() {}

  /** {@code f} over the elements, in partition then element order; null when there is none. */
  static <T> T reduce(JavaRDD<T> rdd, Function2<T, T, T> f, int fanout) {
    if (fanout < 2) {
      throw new IllegalArgumentException("fanout must be at least 2, got " + fanout);
    }
    JavaPairRDD<Integer, T> level = rdd.mapPartitionsWithIndex((Integer part, Iterator<T> it) -> {
      T acc = null;
      while (it.hasNext()) {
        T next = it.next();
        acc = acc == null ? next : f.call(acc, next);
      }
      return acc == null ? List.<Tuple2<Integer, T>>of().iterator() : List.of(new Tuple2<>(part, acc)).iterator();
    }, false).mapToPair(t -> t);
    int parts = rdd.getNumPartitions();
    while (parts > fanout) {
      int groups = (parts + fanout - 1) / fanout;
      level = level.mapToPair(t -> new Tuple2<>(t._1() / fanout, t)).groupByKey(groups)
          .mapToPair(g -> new Tuple2<>(g._1(), merge(g._2(), f)));
      parts = groups;
    }
    try {
      return merge(level.collect(), f);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("merging the parts' results failed: " + e, e);
    }
  }

  /** The values of (position, value) pairs merged by {@code f} in ascending position. */
  private static <T> T merge(Iterable<Tuple2<Integer, T>> values, Function2<T, T, T> f) throws Exception {
    List<Tuple2<Integer, T>> sorted = new ArrayList<>();
    values.forEach(sorted::add);
    sorted.sort(Comparator.comparing(Tuple2::_1));
    T acc = null;
    for (Tuple2<Integer, T> v : sorted) {
      acc = acc == null ? v._2() : f.call(acc, v._2());
    }
    return acc;
  }
}
