package dev.sparktune.config;

import static dev.sparktune.config.InvalidValue.orDefault;

import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Config of the clean stage: normalization, refusal boilerplate, quality rules and deduplication,
 * applied in that order; every record that enters ends in {@code data} or in {@code dropped}.
 */
public record CleanConfig(Normalize normalize, Refusals refusals, Quality quality, Dedup dedup)
    implements Serializable {

  static final Set<String> FIELDS = Set.copyOf(SourceConfig.CANONICAL_FIELDS);

  public CleanConfig {
    normalize = orDefault(normalize, new Normalize(null, null));
    refusals = orDefault(refusals, new Refusals(null, null, null, null, null));
    quality = orDefault(quality, new Quality(null, null, null, null, null, null, null, null, null, null, null, null));
    dedup = orDefault(dedup, new Dedup(null, null, null, null, null, null, null));
  }

  /**
   * @param unicode {@code nfkc} (default), {@code nfc} or {@code none}
   * @param collapseWhitespace collapse runs of spaces and of blank lines, trim lines (default true)
   */
  public record Normalize(UnicodeForm unicode, Boolean collapseWhitespace) implements Serializable {
    /** Unicode normalization forms. */
    public enum UnicodeForm { NFKC, NFC, NONE }

    public Normalize {
      unicode = orDefault(unicode, UnicodeForm.NFKC);
      collapseWhitespace = orDefault(collapseWhitespace, Boolean.TRUE);
    }
  }

  /**
   * @param mode {@code drop} (default) drops a record that matches; {@code strip} removes the
   *     sentences that match and drops the record only when less than {@code min_chars} remain;
   *     {@code off} disables the step
   * @param phrases phrase list file (one per line, {@code #} comments); default: the list shipped
   *     with sparktune (conf/refusal-phrases.txt)
   * @param regexes regex list file (Java syntax, one per line); default: conf/refusal-regexes.txt
   * @param fields the fields searched (default output and text)
   * @param minChars in strip mode, a field left shorter than this drops the record (default 20)
   */
  public record Refusals(RefusalMode mode, String phrases, String regexes, List<String> fields, Integer minChars)
      implements Serializable {
    /** What to do with a match. */
    public enum RefusalMode { DROP, STRIP, OFF }

    public Refusals {
      mode = orDefault(mode, RefusalMode.DROP);
      fields = fields == null ? List.of("output", "text") : List.copyOf(fields);
      for (String f : fields) {
        if (!FIELDS.contains(f)) {
          throw new InvalidValue("fields", "unknown field '" + f + "'; expected some of " + SourceConfig.CANONICAL_FIELDS);
        }
      }
      minChars = orDefault(minChars, 20);
      if (minChars < 0) {
        throw new InvalidValue("min_chars", "must not be negative");
      }
    }
  }

  /**
   * Quality rules; each is off unless set, and each has its own drop reason. Rules on "the
   * response" look at {@code output}, or {@code text} for plain-text records.
   *
   * @param minChars per field (instruction, input, output, text): drop when shorter ({@code too_short})
   * @param maxChars per field: drop when longer ({@code too_long})
   * @param minWords per field ({@code too_few_words})
   * @param maxWords per field ({@code too_many_words})
   * @param dropEmptyOutput drop instruction records whose output is empty ({@code empty_output}); default true
   * @param minMeanWordLength response's mean word length lower bound ({@code mean_word_length})
   * @param maxMeanWordLength upper bound ({@code mean_word_length})
   * @param maxSymbolWordRatio (# and ellipsis) per word in the response ({@code symbol_ratio})
   * @param maxEllipsisLineFraction lines of the response ending in an ellipsis ({@code ellipsis_lines})
   * @param maxDuplicateNgramFraction share of the response's characters inside repeated word
   *     n-grams, Gopher-style ({@code repetition})
   * @param repetitionNgram n for the repetition rule (default 5)
   * @param maxNonPrintableRatio non-printable characters per character ({@code non_printable})
   */
  public record Quality(Map<String, Integer> minChars, Map<String, Integer> maxChars, Map<String, Integer> minWords,
      Map<String, Integer> maxWords, Boolean dropEmptyOutput, Double minMeanWordLength, Double maxMeanWordLength,
      Double maxSymbolWordRatio, Double maxEllipsisLineFraction, Double maxDuplicateNgramFraction,
      Integer repetitionNgram, Double maxNonPrintableRatio) implements Serializable {
    public Quality {
      minChars = fieldMap(minChars, "min_chars");
      maxChars = fieldMap(maxChars, "max_chars");
      minWords = fieldMap(minWords, "min_words");
      maxWords = fieldMap(maxWords, "max_words");
      dropEmptyOutput = orDefault(dropEmptyOutput, Boolean.TRUE);
      repetitionNgram = orDefault(repetitionNgram, 5);
      if (repetitionNgram < 1) {
        throw new InvalidValue("repetition_ngram", "must be at least 1");
      }
    }

    private static Map<String, Integer> fieldMap(Map<String, Integer> m, String key) {
      if (m == null) {
        return Map.of();
      }
      for (Map.Entry<String, Integer> e : m.entrySet()) {
        if (!FIELDS.contains(e.getKey())) {
          throw new InvalidValue(key, "unknown field '" + e.getKey() + "'; expected some of "
              + SourceConfig.CANONICAL_FIELDS);
        }
        if (e.getValue() < 0) {
          throw new InvalidValue(key + "." + e.getKey(), "must not be negative");
        }
      }
      return Map.copyOf(m);
    }
  }

  /**
   * @param exact drop exact duplicates of the normalized content, keeping the smallest id (default true)
   * @param near drop near duplicates by MinHash LSH (default true)
   * @param shingleWords words per shingle (default 5; shorter texts use one shingle of all words)
   * @param bands LSH bands (default 20)
   * @param rows MinHash values per band (default 5); bands x rows hash functions in all
   * @param threshold Jaccard similarity at or above which a candidate pair is a duplicate (default 0.8)
   * @param maxBucketSize candidates sharing one band bucket beyond this are paired only with the
   *     bucket's smallest id, so one huge bucket cannot go quadratic (default 100)
   */
  public record Dedup(Boolean exact, Boolean near, Integer shingleWords, Integer bands, Integer rows, Double threshold,
      Integer maxBucketSize) implements Serializable {
    public Dedup {
      exact = orDefault(exact, Boolean.TRUE);
      near = orDefault(near, Boolean.TRUE);
      shingleWords = orDefault(shingleWords, 5);
      bands = orDefault(bands, 20);
      rows = orDefault(rows, 5);
      threshold = orDefault(threshold, 0.8);
      maxBucketSize = orDefault(maxBucketSize, 100);
      if (shingleWords < 1 || bands < 1 || rows < 1 || maxBucketSize < 2) {
        throw new InvalidValue(null, "shingle_words, bands and rows must be at least 1, max_bucket_size at least 2");
      }
      if (threshold <= 0 || threshold > 1) {
        throw new InvalidValue("threshold", "must be in (0, 1]");
      }
    }
  }
}
