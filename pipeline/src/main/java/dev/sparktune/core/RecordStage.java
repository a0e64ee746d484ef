package dev.sparktune.core;

import java.util.List;
import java.util.Map;
import org.apache.spark.sql.types.StructType;

/**
 * Base of the stages that read one upstream stage's canonical records: holds the name, version,
 * config and upstream, and declares the record columns as the required input.
 *
 * @param <C> the stage's config record
 */
public abstract class RecordStage<C extends Record> implements Stage {
  private final String name;
  private final int version;
  private final String upstream;
  /** The stage's config (also what {@link #config()} returns). */
  protected final C config;

  protected RecordStage(String name, int version, C config, String upstream) {
    this.name = name;
    this.version = version;
    this.config = config;
    this.upstream = upstream;
  }

  @Override
  public final String name() {
    return name;
  }

  @Override
  public final int version() {
    return version;
  }

  @Override
  public final C config() {
    return config;
  }

  @Override
  public final List<String> upstream() {
    return List.of(upstream);
  }

  /** The stage whose {@code data} this one reads. */
  protected final String upstreamName() {
    return upstream;
  }

  @Override
  public Map<String, StructType> requiredInputSchemas() {
    return Map.of(upstream, Schemas.RECORD);
  }
}
