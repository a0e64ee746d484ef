package dev.sparktune.core;

import dev.sparktune.config.SparktuneConfig.SparkSettings;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/** Starts (or joins) the Spark session a command runs in. */
public final class Sessions {
  private Sessions() {}

  /**
   * Returns the session for these settings. Under spark-submit the master and any property given on
   * the command line win; otherwise {@code master} from config is used.
   */
  public static SparkSession start(SparkSettings settings) {
    SparkConf conf = new SparkConf(true);
    if (!conf.contains("spark.master")) {
      conf.setMaster(settings.master());
    }
    if (!conf.contains("spark.app.name")) {
      conf.setAppName(settings.appName());
    }
    conf.setIfMissing("spark.ui.showConsoleProgress", "true");
    // Java serialization keeps every object of a stream reachable until its periodic reset, which
    // runs a small heap out of memory when a large cached partition is read back; Kryo does not.
    conf.setIfMissing("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
    // The train stage's rendezvous is one allGather per attempt; Spark's default waits a year for a
    // missing task. Ten minutes covers loading a large model on every rank.
    conf.setIfMissing("spark.barrier.sync.timeout", "600s");
    for (Map.Entry<String, String> e : settings.conf().entrySet()) {
      conf.setIfMissing(e.getKey(), e.getValue());
    }
    return SparkSession.builder().config(conf).getOrCreate();
  }
}
