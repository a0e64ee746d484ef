package dev.sparktune.config;

/**
 * Thrown by a config record's constructor when one of its values is invalid; the binder adds the
 * file, line and full key path.
 */
public final class InvalidValue extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String key;

  /**
   * @param key the record component's YAML key (snake_case), or {@code null} for the record as a whole
   * @param message what is wrong, e.g. "must be a single character"
   */
  public InvalidValue(String key, String message) {
    super(key == null ? message : key + ": " + message);
    this.key = key;
  }

  public String key() {
    return key;
  }

  public String problem() {
    String m = getMessage();
    return key == null ? m : m.substring(key.length() + 2);
  }

  /** Fails with "is required" when {@code value} is null or blank. */
  public static <T> T required(T value, String key) {
    if (value == null || (value instanceof String s && s.isBlank())) {
      throw new InvalidValue(key, "is required");
    }
    return value;
  }

  /** Returns {@code value}, or {@code fallback} when it is null. */
  public static <T> T orDefault(T value, T fallback) {
    return value == null ? fallback : value;
  }
}
