package dev.sparktune.core;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;

/**
 * What a stage may use while building its output: the session and the workspace that resolves
 * user-given paths.
 */
public record StageContext(SparkSession spark, Workspace workspace) {

  public Configuration hadoopConf() {
    return spark.sparkContext().hadoopConfiguration();
  }
}
