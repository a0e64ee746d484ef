package dev.sparktune.cluster;

import static org.apache.spark.sql.functions.broadcast;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.concat_ws;
import static org.apache.spark.sql.functions.expr;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.not;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.sql.functions.xxhash64;

import dev.sparktune.clean.CleanStage;
import dev.sparktune.config.ClusterConfig;
import dev.sparktune.core.Schemas;
import dev.sparktune.core.RecordStage;
import dev.sparktune.core.StageContext;
import dev.sparktune.core.StageOutput;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.feature.IDF;
import org.apache.spark.ml.feature.IDFModel;
import org.apache.spark.ml.feature.Normalizer;
import org.apache.spark.ml.feature.StopWordsRemover;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster stage: TF-IDF features (Spark MLlib), k-means, then per cluster a semantic dedup
 * (SemDeDup-style: a record whose cosine similarity to a kept record of its cluster is at least
 * 1 - eps is dropped) and a quota ({@code max_per_cluster}, keeping random, nearest or farthest
 * records). Writes the selected records with {@code cluster_id} and {@code centroid_distance}, the
 * dropped ones with their reason, and a {@code clusters} table (sizes before/after, top terms,
 * example ids).
 */
public final class ClusterStage extends RecordStage<ClusterConfig> {
  public static final String NAME = "cluster";
  public static final String CLUSTERS = "clusters";
  private static final Logger LOG = LoggerFactory.getLogger(ClusterStage.class);

  /** Records without any term (after stop words) cannot be placed by cosine k-means: cluster -1. */
  public static final int NO_TERMS = -1;

  public ClusterStage(ClusterConfig config) {
    super(NAME, 2, config, CleanStage.NAME); // 2: conversations (messages)
  }

  @Override
  public StructType outputSchema() {
    return Schemas.CLUSTERED;
  }

  @Override
  public StageOutput apply(StageContext context, Map<String, Dataset<Row>> inputs) {
    Dataset<Row> in = inputs.get(upstreamName());
    Featured featured = featurize(in);
    Dataset<Row> all = assign(context, featured.rows());

    // Only what the outputs need is cached: the feature vectors and token lists are done with.
    Dataset<Row> deduped = semanticDedup(all).drop("_features", "_nnz")
        .persist(StorageLevel.MEMORY_AND_DISK());
    Dataset<Row> unique = deduped.filter(col("_dup_of").isNull());
    Dataset<Row> semanticDrops = deduped.filter(col("_dup_of").isNotNull()).select(Schemas.withColumns(Schemas.recordColumns(),
        lit("semantic_duplicate").as("reason"), concat_ws("", lit("duplicate of "), col("_dup_of"), lit(" (cosine "),
            expr("format_number(_sim, 3)"), lit(")")).as("detail")));

    Dataset<Row> kept = unique;
    Dataset<Row> dropped = semanticDrops;
    // Every record with whether it is kept, for the clusters table.
    Dataset<Row> flagged = deduped.withColumn("_kept", col("_dup_of").isNull());
    if (config.maxPerCluster() != null) {
      int max = config.maxPerCluster();
      Dataset<Row> split = splitAtQuota(context.spark(), unique, max, config.keep(), config.seed());
      kept = split.filter(not(col("_over")));
      dropped = dropped.unionByName(split.filter(col("_over")).select(Schemas.withColumns(Schemas.recordColumns(),
          lit("cluster_quota").as("reason"), concat_ws("", lit("cluster "), col("cluster_id").cast("string"),
              lit(" keeps " + max + " (keep: " + config.keep().name().toLowerCase() + ")")).as("detail"))));
      // split holds the unique records (deduped's columns and _over); the semantic drops are not kept.
      flagged = split.withColumn("_kept", not(col("_over"))).drop("_over")
          .unionByName(deduped.filter(col("_dup_of").isNotNull()).withColumn("_kept", lit(false)));
    }
    Dataset<Row> data = kept.select(Schemas.withColumns(Schemas.recordColumns(), col("cluster_id"), col("centroid_distance")));
    return new StageOutput(data, null, dropped, Map.of(CLUSTERS,
        ClusterTable.of(flagged, config.topTerms(), context.spark().sparkContext().defaultParallelism())), in.select("source"),
        () -> {
          featured.cached().unpersist();
          deduped.unpersist();
        });
  }

  /** The records with {@code _terms}, {@code _features} and {@code _nnz}, and the persisted table they come from. */
  private record Featured(Dataset<Row> rows, Dataset<Row> cached) {}

  /**
   * Terms and feature vectors. The records are tokenized (and hashed, or embedded) once into a cache;
   * IDF's fit and every later pass read that cache. The terms and their hashed counts are MLlib's
   * (RegexTokenizer, StopWordsRemover, HashingTF), computed by {@link DocumentTerms} in one function.
   */
  private Featured featurize(Dataset<Row> in) {
    // What a record is about: the instruction (and its input), the text of a plain-text record, or a
    // conversation's user turns.
    Column doc = coalesce(when(col("instruction").isNotNull(), concat_ws(" ", col("instruction"), col("input"))),
        col("text"), col("output"), expr(Schemas.turnsSql("user")), lit(""));
    // Terms are needed in both modes: they name the clusters.
    StopWordsRemover stopWords = new StopWordsRemover();
    DocumentTerms documentTerms = new DocumentTerms(Arrays.asList(stopWords.getStopWords()),
        new Locale(stopWords.getLocale())); // the remover's own locale rule
    Dataset<Row> cache;
    Dataset<Row> vectors;
    if (config.features() == ClusterConfig.Features.TFIDF) {
      int n = config.numFeatures();
      StructType termsAndCounts = new StructType().add("terms", DataTypes.createArrayType(DataTypes.StringType, false))
          .add("tf", SQLDataTypes.VectorType());
      org.apache.spark.sql.api.java.UDF1<String, Row> count = text -> {
        List<String> terms = documentTerms.terms(text);
        DocumentTerms.Counts c = DocumentTerms.counts(terms, term -> DocumentTerms.hashingTfIndex(term, n));
        return RowFactory.create(terms, Vectors.sparse(n, c.indices(), c.values()));
      };
      cache = in.withColumn("_f", udf(count, termsAndCounts).apply(doc))
          .withColumn("_terms", col("_f.terms")).withColumn("_tf", col("_f.tf")).drop("_f")
          .persist(StorageLevel.MEMORY_AND_DISK());
      IDFModel idf = new IDF().setInputCol("_tf").setOutputCol("_tfidf").setMinDocFreq(config.minDocFreq()).fit(cache);
      vectors = new Normalizer().setInputCol("_tfidf").setOutputCol("_features").setP(2.0)
          .transform(idf.transform(cache)).drop("_tf", "_tfidf");
    } else {
      org.apache.spark.sql.api.java.UDF1<String, List<String>> terms = documentTerms::terms;
      Dataset<Row> withTerms = in.withColumn("_doc", doc).withColumn("_terms",
          udf(terms, DataTypes.createArrayType(DataTypes.StringType, false)).apply(col("_doc")));
      cache = MiniLmFeatures.embed(withTerms, "_doc", "_features").drop("_doc")
          .persist(StorageLevel.MEMORY_AND_DISK());
      vectors = cache;
    }
    return new Featured(vectors.withColumn("_nnz", udf((org.apache.spark.sql.api.java.UDF1<Vector, Integer>)
        Vector::numNonzeros, DataTypes.IntegerType).apply(col("_features"))), cache);
  }

  /** Fits k-means on the records with features and adds {@code cluster_id} and {@code centroid_distance} to all. */
  private Dataset<Row> assign(StageContext context, Dataset<Row> featured) {
    Dataset<Row> placeable = featured.filter(col("_nnz").gt(0));
    // The k-means input: each partition's vectors packed once into primitive arrays (from the
    // featurize cache), then only these blocks are read by the iterations.
    // Hash-partitioned by id into one part per core and sorted: the iterations' work is even across
    // cores whatever the upstream files' sizes, and the blocks (so the sums' rounding) do not depend
    // on the upstream layout or on shuffle fetch order.
    int parts = context.spark().sparkContext().defaultParallelism();
    Dataset<Row> vectors = placeable.select("id", "_features").repartition(parts, col("id")).sortWithinPartitions("id");
    long seed = config.seed();
    JavaRDD<SparseKMeans.Block> blocks = vectors.javaRDD()
        .mapPartitions(rows -> java.util.List.of(SparseKMeans.Block.of(rows, 0, 1, seed)).iterator())
        .persist(StorageLevel.MEMORY_AND_DISK());
    long[] shape = blocks.map(bl -> new long[] {bl.rows(), bl.dim})
        .reduce((x, y) -> new long[] {x[0] + y[0], Math.max(x[1], y[1])});
    long n = shape[0];
    int k = config.kFor(n);
    LOG.info("cluster: {} records with terms, k = {} ({}), {} distance", n, k, config.k(),
        config.distance().name().toLowerCase());

    Dataset<Row> assigned;
    if (n == 0) {
      assigned = placeable.withColumn("cluster_id", lit(NO_TERMS)).withColumn("centroid_distance",
          lit(null).cast(DataTypes.DoubleType));
    } else {
      SparseKMeans.Model model = fitKMeans(blocks, n, (int) shape[1], k);
      Broadcast<SparseKMeans.Model> fitted = context.spark().sparkContext().broadcast(model,
          scala.reflect.ClassTag$.MODULE$.apply(SparseKMeans.Model.class));
      org.apache.spark.sql.api.java.UDF1<Vector, Row> assign = v -> {
        double[] a = fitted.value().assign(v);
        return RowFactory.create((int) a[0], a[1]);
      };
      StructType assignment = new StructType().add("c", DataTypes.IntegerType, false)
          .add("d", DataTypes.DoubleType, false);
      assigned = placeable.withColumn("_a", udf(assign, assignment).apply(col("_features")))
          .withColumn("cluster_id", col("_a.c")).withColumn("centroid_distance", col("_a.d")).drop("_a");
    }
    blocks.unpersist(false);
    Dataset<Row> unplaced = featured.filter(col("_nnz").equalTo(0)).withColumn("cluster_id", lit(NO_TERMS))
        .withColumn("centroid_distance", lit(null).cast(DataTypes.DoubleType));
    return assigned.unionByName(unplaced).withColumn("cluster_id", col("cluster_id").cast("int"));
  }

  /** The k-means model of lowest cost over {@code restarts} runs with consecutive seeds. */
  private SparseKMeans.Model fitKMeans(JavaRDD<SparseKMeans.Block> blocks, long n, int dim, int k) {
    boolean cosine = config.distance() == ClusterConfig.Distance.COSINE;
    SparseKMeans.Model model = null;
    for (int run = 0; run < config.restarts(); run++) {
      long t0 = System.nanoTime();
      SparseKMeans.Model candidate = SparseKMeans.fit(blocks, n, dim, Math.max(1, Math.min(k, (int) n)),
          config.maxIter(), config.seed() + run, cosine);
      LOG.info("cluster: k-means run {} (seed {}): cost {} after {} iterations, {} s", run + 1, config.seed() + run,
          candidate.cost(), candidate.iterations(), String.format("%.1f", (System.nanoTime() - t0) / 1e9));
      if (model == null || candidate.cost() < model.cost()) {
        model = candidate;
      }
    }
    return model;
  }

  /** Adds {@code _dup_of} and {@code _sim}: semantic dedup inside each cluster, nearest-to-centroid first. */
  private Dataset<Row> semanticDedup(Dataset<Row> all) {
    if (config.semanticDedupEps() == null) {
      return all.withColumn("_dup_of", lit(null).cast(DataTypes.StringType))
          .withColumn("_sim", lit(null).cast(DataTypes.DoubleType));
    }
    double minSimilarity = 1.0 - config.semanticDedupEps();
    StructType schema = all.schema().add("_dup_of", DataTypes.StringType, true).add("_sim", DataTypes.DoubleType, true);
    int fi = all.schema().fieldIndex("_features");
    int ci = all.schema().fieldIndex("cluster_id");
    int ii = all.schema().fieldIndex("id");
    MapPartitionsFunction<Row, Row> semdedup = rows -> new SemanticDedup(rows, fi, ci, ii, minSimilarity);
    return all.repartition(col("cluster_id"))
        .sortWithinPartitions(col("cluster_id"), col("centroid_distance").asc_nulls_last(), col("id"))
        .mapPartitions(semdedup, ExpressionEncoder.apply(RowEncoder.encoderFor(schema)));
  }

  /**
   * Marks ({@code _over}) the records past the first {@code max} of their cluster in the configured
   * keep order (then id, then locator). Only the narrow sort keys are shuffled and ranked: that gives
   * each over-full cluster's last kept key (at most k rows, collected), which every record is then
   * compared with where it lies, so the records themselves are never shuffled.
   */
  static Dataset<Row> splitAtQuota(org.apache.spark.sql.SparkSession spark, Dataset<Row> unique, int max,
      ClusterConfig.Keep keep, long seed) {
    Column order = switch (keep) {
      case RANDOM -> xxhash64(col("id"), lit(seed));
      // Nulls last, as the window's asc_nulls_last / desc_nulls_last; 0 - d, not -d: no -0.0.
      case NEAREST -> coalesce(col("centroid_distance"), lit(Double.POSITIVE_INFINITY));
      case FARTHEST -> coalesce(lit(0.0).minus(col("centroid_distance")), lit(Double.POSITIVE_INFINITY));
    };
    Dataset<Row> keyed = unique.withColumn("_o", order).withColumn("_l", coalesce(col("locator"), lit("")));
    List<Row> cuts = keyed.select("cluster_id", "_o", "id", "_l")
        .withColumn("_r", row_number().over(Window.partitionBy("cluster_id").orderBy("_o", "id", "_l")))
        .filter(col("_r").equalTo(max)).drop("_r").collectAsList();
    StructType cutSchema = new StructType().add("cluster_id", DataTypes.IntegerType, false)
        .add("_co", keyed.schema().apply("_o").dataType(), false).add("_ci", DataTypes.StringType, false)
        .add("_cl", DataTypes.StringType, false);
    Dataset<Row> cutoffs = spark.createDataFrame(cuts, cutSchema);
    Column within = col("_co").isNull()
        .or(col("_o").lt(col("_co")))
        .or(col("_o").equalTo(col("_co")).and(col("id").lt(col("_ci"))
            .or(col("id").equalTo(col("_ci")).and(col("_l").leq(col("_cl"))))));
    String[] on = {"cluster_id"};
    List<Column> columns = new ArrayList<>();
    for (String c : unique.columns()) {
      columns.add(col(c));
    }
    columns.add(not(within).as("_over"));
    return keyed.join(broadcast(cutoffs), on, "left").select(columns.toArray(Column[]::new));
  }
}
