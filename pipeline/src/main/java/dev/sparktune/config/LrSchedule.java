package dev.sparktune.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The learning-rate schedules {@code train.schedule} names, as transformers' schedulers name them. */
public enum LrSchedule {
  COSINE, LINEAR, CONSTANT, CONSTANT_WITH_WARMUP;

  /** The name as the config writes it ({@code constant_with_warmup}). */
  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The schedule {@code key} names; fails naming the valid ones. */
  public static LrSchedule of(String key) {
    return Arrays.stream(values()).filter(s -> s.key().equals(key)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("'" + key + "' is not one of "
            + Arrays.stream(values()).map(LrSchedule::key).collect(Collectors.joining(", "))));
  }
}
