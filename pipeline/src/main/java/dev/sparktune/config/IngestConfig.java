package dev.sparktune.config;

import static dev.sparktune.config.InvalidValue.orDefault;

import java.io.Serializable;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Config of the ingest stage: the sources to read into the canonical record table.
 *
 * @param sources one entry per source, each with a unique name
 * @param maxSnippetChars how much of an unreadable input is kept in its reject row
 * @param maxRejectRatio fail the run when more than this share of the input records is rejected
 *     (default: no limit); the ingest output and its rejects table are still written
 */
public record IngestConfig(List<SourceConfig> sources, Integer maxSnippetChars, Double maxRejectRatio)
    implements Serializable {

  /** The two-argument form: no limit on rejects. */
  public IngestConfig(List<SourceConfig> sources, Integer maxSnippetChars) {
    this(sources, maxSnippetChars, null);
  }

  public IngestConfig {
    if (maxRejectRatio != null && (maxRejectRatio < 0 || maxRejectRatio > 1)) {
      throw new InvalidValue("max_reject_ratio", "must be in [0, 1]");
    }
    sources = InvalidValue.required(sources, "sources");
    if (sources.isEmpty()) {
      throw new InvalidValue("sources", "needs at least one source");
    }
    Set<String> names = new HashSet<>();
    for (SourceConfig s : sources) {
      if (!names.add(s.name())) {
        throw new InvalidValue("sources", "source name '" + s.name() + "' is used twice");
      }
    }
    maxSnippetChars = orDefault(maxSnippetChars, 500);
    if (maxSnippetChars < 16) {
      throw new InvalidValue("max_snippet_chars", "must be at least 16");
    }
  }
}
